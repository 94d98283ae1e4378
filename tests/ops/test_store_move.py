"""A store made before PostgreSQL became the default (FerretDB on SQLite files) is copied into
PostgreSQL by `scripts/services.sh` on its first start as the new store, once, and keeps its files."""
from __future__ import annotations

import pymongo
from bson import ObjectId

from tests.live import PrivateServices


def client(services: PrivateServices) -> pymongo.MongoClient:
    return pymongo.MongoClient(f"mongodb://127.0.0.1:{services.ferretdb_port}", serverSelectionTimeoutMS=10000)


def test_the_sqlite_store_is_copied_into_postgresql_once(tmp_path):
    old = PrivateServices(tmp_path, "ferretdb", handler="sqlite")
    old.start()
    users = [{"_id": ObjectId(), "username": f"user{i}"} for i in range(1500)]  # more than one batch
    messages = [{"_id": ObjectId(), "channelId": ObjectId(), "spans": [{"type": "PLAINTEXT", "text": f"m{i}"}]}
                for i in range(30)]
    with client(old) as c:
        c.kraken.users.insert_many(users)
        c.kraken.messages.insert_many(messages)
        c.other.things.insert_one({"_id": "x", "n": 1})
    old.stop()

    new = PrivateServices(tmp_path, "ferretdb")  # the same folder, as `make run` after an upgrade
    new.ferretdb_port = old.ferretdb_port
    try:
        new.start()
        with client(new) as c:
            assert sorted(d["_id"] for d in c.kraken.users.find()) == sorted(u["_id"] for u in users)
            assert list(c.kraken.messages.find().sort("_id", 1)) == messages
            assert c.other.things.find_one({"_id": "x"}) == {"_id": "x", "n": 1}
            c.kraken.users.delete_many({})  # changed in the new store after the copy
        marker = tmp_path / "ferretdb" / "moved-to-postgresql"
        assert marker.exists() and list((tmp_path / "ferretdb").glob("*.sqlite")), "the SQLite files stay"
        stamp = marker.read_text()

        new.stop("ferretdb")
        new.start("ferretdb")
        with client(new) as c:
            assert c.kraken.users.count_documents({}) == 0, "copied once: not again on the next start"
        assert marker.read_text() == stamp
    finally:
        new.stop()
