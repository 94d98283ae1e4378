"""The indexes of the moderation collections: bans and timeouts by community (their lists), the log by
community and date (docs/decisions/0053-moderation.md). Idempotent: creating an existing index is a no-op."""


def up(db, echo):
    from kraken.moderation.models import CommunityBan, CommunityTimeout, ModerationLog

    for document in (CommunityBan, CommunityTimeout, ModerationLog):
        document.ensure_indexes()
        echo(f"  indexes of {document._get_collection_name()}: "
             + ", ".join(sorted(document._get_collection().index_information())))
