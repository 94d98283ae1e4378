"""The indexes of friendships (the unique ordered pair `pairKey`, each side) and user blocks (each side)
(kraken/friends/models.py). No document is rewritten. Idempotent: creating an existing index is a no-op."""


def up(db, echo):
    from kraken.friends.models import Friendship, UserBlock

    for document in (Friendship, UserBlock):
        document.ensure_indexes()
        echo(f"  indexes of {document._get_collection_name()}: "
             + ", ".join(sorted(document._get_collection().index_information())))
