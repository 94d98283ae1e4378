"""Copy every database of the old development store (FerretDB on SQLite) into the new one (FerretDB on
PostgreSQL), once: `scripts/services.sh` runs it when it finds SQLite files beside a PostgreSQL store
that has not received them yet (README "Storage").

Usage: move_store.py SOURCE_URL TARGET_URL
Documents are copied collection by collection in batches, with progress. Idempotent: a document the
target already has (same `_id`) is left as it is, so a copy that stopped half-way goes on when run
again. Indexes are not copied: `flask kraken migrate` (run by `make run`) declares them. Exits
non-zero on any error, leaving the source untouched.
"""
from __future__ import annotations

import sys

import pymongo
from pymongo.errors import BulkWriteError

BATCH = 1000


def move(source_url: str, target_url: str, echo=print) -> int:
    source = pymongo.MongoClient(source_url, serverSelectionTimeoutMS=10000)
    target = pymongo.MongoClient(target_url, serverSelectionTimeoutMS=10000)
    copied = 0
    for name in source.list_database_names():
        if name in ("admin", "local", "config"):
            continue
        for collection in source[name].list_collection_names():
            into = target[name][collection]
            total = source[name][collection].estimated_document_count()
            done = 0
            batch = []
            for doc in source[name][collection].find().sort("_id", 1):
                batch.append(doc)
                if len(batch) == BATCH:
                    _insert(into, batch)
                    done += len(batch)
                    batch = []
                    echo(f"  {name}.{collection}: {done}/{total}")
            if batch:
                _insert(into, batch)
                done += len(batch)
            copied += done
            echo(f"  {name}.{collection}: {done} documents copied")
    return copied


def _insert(collection, batch: list[dict]) -> None:
    """Insert what the target lacks; a document it already has (a copy run before) is not an error."""
    try:
        collection.insert_many(batch, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])) \
                or exc.details.get("writeConcernErrors"):
            raise


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(f"{move(sys.argv[1], sys.argv[2])} documents copied")
