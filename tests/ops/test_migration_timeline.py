"""0002_message_timeline on a populated database: messages stored before numbering get their numbers
in `_id` order per channel, resumably and once (history reading them: tests/realtime/test_timeline.py)."""
from __future__ import annotations

import os

import mongoengine
import pytest
from bson import ObjectId

from kraken import migrations
from kraken.messages import timeline



def load_script():
    return migrations.load("0002_message_timeline")


@pytest.fixture
def old_db(app):
    """A database of its own holding what the app stored before 0002: three channels, interleaved messages
    without `seq`/`bucket`, the old `(channelId, _id)` index and one message of a channel since deleted."""
    client = mongoengine.get_connection()
    name = f"kraken_migration_{os.getpid()}"
    client.drop_database(name)
    db = client[name]
    channels = [ObjectId() for _ in range(3)]
    db.channels.insert_many([{"_id": c, "name": f"c{i}", "communityId": ObjectId(), "type": "TEXT"}
                             for i, c in enumerate(channels)])
    messages = []
    for i in range(1500):  # 600 / 500 / 400, interleaved in time as real channels are
        channel = channels[0] if i % 5 < 2 else channels[1] if i % 5 < 4 and i < 1250 else channels[2]
        messages.append({"_id": ObjectId(), "channelId": channel, "authorId": ObjectId(),
                         "spans": [{"type": "PLAINTEXT", "text": f"m{i}"}]})
    orphan = {"_id": ObjectId(), "channelId": ObjectId(), "spans": []}
    db.messages.insert_many(messages + [orphan])
    db.messages.create_index([("channelId", 1), ("_id", -1)], name="channelId_1__id_-1")
    yield db, channels, messages
    client.drop_database(name)


def numbering(db, channel_id):
    return [(m["_id"], m["seq"], m["bucket"]) for m in db.messages.find({"channelId": channel_id})]


def test_existing_messages_are_numbered_in_id_order_per_channel(old_db):
    db, channels, messages = old_db
    lines: list[str] = []
    load_script().up(db, lines.append)
    for channel_id in channels:
        rows = sorted(numbering(db, channel_id))
        assert [seq for _, seq, _ in rows] == list(range(1, len(rows) + 1)), "numbers follow _id order"
        assert all(bucket == timeline.bucket_key(channel_id, seq) for _, seq, bucket in rows)
        assert db.message_counters.find_one({"_id": channel_id})["seq"] == len(rows)
    assert sum(1 for m in messages) == sum(len(numbering(db, c)) for c in channels)
    assert "channelId_1__id_-1" not in db.messages.index_information()
    assert any(line.startswith("  channel 1/3: ") for line in lines), lines
    assert lines[-1] == "  1500 messages numbered in 3 channels"

    again: list[str] = []
    load_script().up(db, again.append)
    assert again == ["  0 messages numbered in 3 channels"], "idempotent"
    assert db.message_counters.find_one({"_id": channels[0]})["seq"] == 600


def test_a_run_stopped_half_way_goes_on_where_it_stopped(old_db):
    db, channels, _ = old_db
    # the first run numbered the 100 oldest messages of channel 0 and stopped
    oldest = sorted(m["_id"] for m in db.messages.find({"channelId": channels[0]}))[:100]
    for seq, message_id in enumerate(oldest, 1):
        db.messages.update_one({"_id": message_id},
                               {"$set": {"seq": seq, "bucket": timeline.bucket_key(channels[0], seq)}})
    db.message_counters.insert_one({"_id": channels[0], "seq": 100})
    load_script().up(db, lambda line: None)
    rows = sorted(numbering(db, channels[0]))
    seqs = [seq for _, seq, _ in rows]
    assert len(rows) == 600 and seqs == sorted(seqs) and len(set(seqs)) == 600, "still in _id order, once each"
    assert seqs[:100] == list(range(1, 101))
