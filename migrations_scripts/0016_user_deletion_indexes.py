"""The `userId` indexes a deleted account's rows are removed by, where a collection had none: thread
follows, notification overrides, community bans and timeouts (every other collection deleted from by
user already had one) (docs/decisions/0063-running-an-instance-from-the-client.md, "Delete"). An
instance that applied 0001 before they existed gets them here. Idempotent: creating an existing index
is a no-op."""


def up(db, echo):
    from kraken.moderation.models import CommunityBan, CommunityTimeout
    from kraken.notifications.models import ChannelNotificationOverride
    from kraken.threads.models import ThreadSubscriber

    for document in (ThreadSubscriber, ChannelNotificationOverride, CommunityBan, CommunityTimeout):
        document.ensure_indexes()
        echo(f"  indexes of {document._get_collection_name()}: "
             + ", ".join(sorted(document._get_collection().index_information())))
