"""Where a message sits in its channel's history, in a layout read by equality alone (README "Storage").

Each message gets the next number of its channel (`seq`, from a counter document keyed by the channel's
id) and the key of its bucket, `"<channelId>:<seq // BUCKET>"`. History is read one bucket at a time,
newest first, with an equality on `bucket`: MongoDB 7 serves it from the `(bucket, -seq)` index, and
FerretDB 1.24, which pushes only equality filters down to PostgreSQL (never a range, a sort or a
limit), reads at most BUCKET documents per bucket whatever the channel's or the instance's size.
A page's cost is then flat from 10k to 1M stored messages.

`seq` is the order of a channel's history (newest first): unique and gap-free per channel, given at
insert under the counter's atomic `$inc` (one per channel per group-committed batch). Ids are not
the order: two processes can create ids in one order and store them in the other.

A deleted message leaves a tombstone (its id, channel and seq) so that a continuation token naming it
still says where the next page starts: deep paging stays exact while messages are deleted.
"""
from __future__ import annotations

from bson import ObjectId

from kraken.common.time import utcnow
# The stored layout (numbering, buckets, counters, tombstones) is declared with the Message document.
from kraken.messages.models import (BUCKET, Message, MessageCounter, MessageTombstone, bucket_key, conversation_of,
                                   number)

__all__ = ["BUCKET", "MessageCounter", "MessageTombstone", "bucket_key", "number", "last_seq", "position",
           "older", "since", "bury", "forget_channels"]


def last_seq(channel_id: object) -> int:
    counter = MessageCounter._get_collection().find_one({"_id": ObjectId(str(channel_id))}, {"seq": 1})
    return counter["seq"] if counter else 0


def position(channel_id: object, message_id: str) -> int | None:
    """The seq of a message of this conversation (channel, group or thread), deleted or not; None when it
    is unknown here. (A tombstone's `channelId` is its conversation.)"""
    oid = ObjectId(message_id)
    fields = {"channelId": 1, "directMessageGroupId": 1, "parentMessageId": 1, "seq": 1}
    for collection in (Message._get_collection(), MessageTombstone._get_collection()):
        found = collection.find_one({"_id": oid}, fields)
        if found is not None:
            same = str(conversation_of(found)) == str(channel_id) and found.get("seq") is not None
            return found["seq"] if same else None
    return None


def older(channel_id: object, at_least: int, below: int | None = None) -> tuple[list, bool]:
    """Messages numbered below `below` (else the newest), newest first, read whole bucket by bucket
    until there are `at_least` of them; and whether they reach the channel's first message."""
    top = below - 1 if below is not None else last_seq(channel_id)
    found: list = []
    bucket = top // BUCKET
    while bucket >= 0 and len(found) < at_least:
        found.extend(Message.objects(bucket=f"{channel_id}:{bucket}", seq__lte=top).order_by("-seq"))
        bucket -= 1
    return found, bucket < 0


def since(channel_id: object, since_id: ObjectId) -> list:
    """Messages of the channel created at or after `since_id`'s time, oldest first (queue backfill):
    buckets are read from the newest down until one holds only older messages."""
    found: list = []
    bucket = last_seq(channel_id) // BUCKET
    while bucket >= 0:
        batch = list(Message.objects(bucket=f"{channel_id}:{bucket}").order_by("-seq"))
        found.extend(m for m in batch if m.id >= since_id)
        if batch and all(m.id < since_id for m in batch):
            break
        bucket -= 1
    return sorted(found, key=lambda m: m.seq)


def bury(message) -> None:
    """Record where a message was, before it is deleted."""
    if message.seq is not None:
        MessageTombstone._get_collection().replace_one(
            {"_id": message.id}, {"channelId": message.conversation_id, "seq": message.seq, "deletedAt": utcnow()},
            upsert=True)


def forget_channels(channel_ids) -> None:
    """Counters and tombstones of deleted channels (one equality each: no `$in` on FerretDB)."""
    for channel_id in channel_ids:
        MessageCounter.objects(id=channel_id).delete()
        MessageTombstone.objects(channel_id=channel_id).delete()
