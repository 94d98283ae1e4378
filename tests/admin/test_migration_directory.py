"""Migration 0013 indexes the users that exist for the admin search, and a second run changes nothing."""
from __future__ import annotations

import mongoengine

from kraken.migrations import load
from kraken.users.directory import UserGram, UserGramCount, newest_matches


def test_existing_users_become_searchable_and_a_rerun_is_idempotent(factory):
    owner = factory.owner("root")
    alice = factory.user("alicorn", email="horn@example.org")
    db = mongoengine.get_db()
    before = (sorted((d["gram"], d["userId"]) for d in db["user_grams"].find()),
              sorted((d["_id"], d["n"]) for d in db["user_gram_counts"].find()))
    db["user_grams"].delete_many({})  # as before the migration
    db["user_gram_counts"].delete_many({})
    assert [c for batch in newest_matches("alicorn") for c in batch] == []
    script = load("0013_user_directory")
    script.up(db, lambda line: None)
    script.up(db, lambda line: None)
    after = (sorted((d["gram"], d["userId"]) for d in db["user_grams"].find()),
             sorted((d["_id"], d["n"]) for d in db["user_gram_counts"].find()))
    assert after == before
    assert [oid for batch in newest_matches("n@exa") for _, oid in batch] == [alice.id]
    assert UserGram.objects(user_id=owner.id).count() > 0 and UserGramCount.objects.count() > 0


def test_an_index_of_trigrams_only_gains_its_5_grams(factory):
    """0015: an instance indexed by 0013 before 5-grams existed finds long queries again afterwards."""
    factory.owner("root")
    alice = factory.user("alicorn", email="horn@example.org")
    db = mongoengine.get_db()
    full = sorted((d["gram"], d["userId"]) for d in db["user_grams"].find())
    assert any(len(gram) == 5 for gram, _ in full)
    db["user_grams"].delete_many({"gram": {"$in": sorted({g for g, _ in full if len(g) == 5})}})
    db["user_gram_counts"].delete_many({"_id": {"$in": sorted({g for g, _ in full if len(g) == 5})}})
    db["user_gram_counts"].update_many({}, {"$unset": {"last": ""}})
    assert [c for batch in newest_matches("alicorn") for c in batch] == []  # as an old index answers
    script = load("0015_user_directory_long_grams")
    script.up(db, lambda line: None)
    script.up(db, lambda line: None)
    assert sorted((d["gram"], d["userId"]) for d in db["user_grams"].find()) == full
    assert all(d.get("last") is not None for d in db["user_gram_counts"].find())
    assert [oid for batch in newest_matches("alicorn") for _, oid in batch] == [alice.id]
