"""Create every index the queries use. Idempotent: creating an existing index is a no-op."""


def up(db, echo):
    from kraken.documents import all_documents

    for document in all_documents():
        document.ensure_indexes()
        echo(f"  indexes of {document._get_collection_name()}: "
             + ", ".join(sorted(document._get_collection().index_information())))
