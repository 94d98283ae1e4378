"""The indexes of `message_counters.communityId` and `.readers` (unread counts without Redis's mirror
read a community's counters, and a user's direct-message groups' counters, by equality;
kraken.messages.timeline.community_last_seqs and reader_last_seqs). Counters learn their community and
readers when first read that way, so no document is rewritten here. Idempotent: creating an existing index is a no-op."""


def up(db, echo):
    from kraken.messages.models import MessageCounter

    MessageCounter.ensure_indexes()
    echo("  indexes of message_counters: " + ", ".join(sorted(MessageCounter._get_collection().index_information())))
