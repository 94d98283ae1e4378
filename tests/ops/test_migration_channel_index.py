"""0004_community_channel_index on a populated database: every community gets the index of its channels
(ids, private ones; none without channels), once and again the same, wrong ones replaced, stale ones
removed, and the
app then reads its rooms from it (tests/realtime/test_channel_index.py: the app keeps it up)."""
from __future__ import annotations

import os

import mongoengine
import pytest
from bson import ObjectId

from kraken import migrations


@pytest.fixture
def old_db(app):
    """A database of its own holding what the app stored before 0004: 250 communities of 0 to 7 channels
    (every third private), one index already right, one wrong, one of a community since deleted."""
    client = mongoengine.get_connection()
    name = f"kraken_migration_index_{os.getpid()}"
    client.drop_database(name)
    db = client[name]
    communities = [ObjectId() for _ in range(250)]
    db.communities.insert_many([{"_id": c, "name": f"c{i}", "nameKey": f"c{i}"} for i, c in enumerate(communities)])
    channels = [{"_id": ObjectId(), "name": f"ch{k}", "communityId": c, "type": "TEXT", "isPrivate": k % 3 == 2}
                for i, c in enumerate(communities) for k in range(i % 8)]
    channels.append({"_id": ObjectId(), "name": "orphan", "communityId": ObjectId(), "type": "TEXT"})
    for channel in channels[::5]:
        channel.pop("isPrivate")  # stored before the field had its default written
    db.channels.insert_many(channels)
    first = [c["_id"] for c in channels if c["communityId"] == communities[1]]
    db.community_channel_index.insert_many([
        {"_id": communities[1], "channels": first, "private": []},
        {"_id": communities[7], "channels": [ObjectId()], "private": [ObjectId()]},
        {"_id": ObjectId(), "channels": [ObjectId()], "private": []}])
    yield db, communities, channels
    client.drop_database(name)


def expected(channels, community_id):
    mine = [c for c in channels if c["communityId"] == community_id]
    return {c["_id"] for c in mine}, {c["_id"] for c in mine if c.get("isPrivate")}


def index_of(db, community_id):
    found = db.community_channel_index.find_one({"_id": community_id}) or {"channels": [], "private": []}
    assert len(found["channels"]) == len(set(found["channels"]))
    return set(found["channels"]), set(found["private"])


def test_every_community_gets_the_index_of_its_channels(old_db):
    db, communities, channels = old_db
    lines: list[str] = []
    migrations.load("0004_community_channel_index").up(db, lines.append)
    for community_id in communities:
        assert index_of(db, community_id) == expected(channels, community_id)
        if not expected(channels, community_id)[0]:
            assert db.community_channel_index.find_one({"_id": community_id}) is None, "none without channels"
    with_channels = sum(1 for i in range(len(communities)) if i % 8)
    assert db.community_channel_index.count_documents({}) == with_channels, "the stale index is removed"
    upto = [sum(i % 8 for i in range(n)) for n in (100, 200, 250)]  # channels of the first n communities
    assert lines[:3] == [f"  community {n}/250 indexed ({count} channels)" for n, count in zip((100, 200, 250), upto)]
    assert lines[-1] == f"  250 communities indexed ({upto[-1]} channels), 1 stale index(es) removed"

    again: list[str] = []
    migrations.load("0004_community_channel_index").up(db, again.append)
    assert again[-1] == f"  250 communities indexed ({upto[-1]} channels), 0 stale index(es) removed", "idempotent"
    for community_id in communities:
        assert index_of(db, community_id) == expected(channels, community_id)
