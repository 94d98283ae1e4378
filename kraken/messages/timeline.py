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

import time
from datetime import timedelta, timezone

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kraken.common.time import utcnow
# The stored layout (numbering, buckets, counters, tombstones) is declared with the Message document.
from kraken.messages.models import (BUCKET, Message, MessageCounter, MessageTombstone, bucket_key, conversation_of,
                                   number)

__all__ = ["BUCKET", "MessageCounter", "MessageTombstone", "bucket_key", "number", "last_seq", "community_last_seqs",
           "reader_last_seqs",
           "position",
           "older", "newer", "around", "since", "bury", "forget_channels"]


def last_seq(channel_id: object) -> int:
    counter = MessageCounter._get_collection().find_one({"_id": ObjectId(str(channel_id))}, {"seq": 1})
    return (counter or {}).get("seq", 0)  # a counter a reader created holds no number yet


def _learn(counters, conversation_id: str, change: dict) -> int:
    """The last number of one conversation looked up by `_id`, recording `change` (its community, or a
    reader) on its counter. A conversation without a counter gets one without a number (0: the send's
    `$inc` starts from it), so its next read finds it with the others, not by another `_id` look-up
    (an empty channel would otherwise cost one at every read)."""
    oid = ObjectId(conversation_id)
    try:
        counter = counters.find_one_and_update({"_id": oid}, change, upsert=True,
                                               return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:  # a send's first `$inc` created it meanwhile
        counter = counters.find_one_and_update({"_id": oid}, change,
                                               return_document=ReturnDocument.AFTER)
    return (counter or {}).get("seq", 0)


def community_last_seqs(community_id: object, channel_ids: list[str]) -> dict[str, int]:
    """The last numbers of some channels of one community: one equality on the community's counters,
    then, for a channel whose counter does not name its community yet, an `_id` look-up that records
    it (see `_learn`). A channel without messages has number 0."""
    counters = MessageCounter._get_collection()
    community = ObjectId(str(community_id))
    found = {str(c["_id"]): c.get("seq", 0) for c in counters.find({"communityId": community}, {"seq": 1})}
    for channel_id in channel_ids:
        if channel_id not in found:
            found[channel_id] = _learn(counters, channel_id, {"$set": {"communityId": community}})
    return {c: found[c] for c in channel_ids}


def reader_last_seqs(user_id: object, group_ids: list[str]) -> dict[str, int]:
    """The last numbers of a user's direct-message groups: one equality on the counters listing the user
    as a reader, then, for a group whose counter does not list them yet, an `_id` look-up that records
    them (see `_learn`). A group without messages has number 0. (Counters of groups the user left may
    still list them: only `group_ids` are answered.)"""
    counters = MessageCounter._get_collection()
    reader = ObjectId(str(user_id))
    found = {str(c["_id"]): c.get("seq", 0) for c in counters.find({"readers": reader}, {"seq": 1})}
    for group_id in group_ids:
        if group_id not in found:
            found[group_id] = _learn(counters, group_id, {"$addToSet": {"readers": reader}})
    return {g: found[g] for g in group_ids}


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


# A send is numbered just before its insert (kraken.messages.service `_inserts`): for a moment a number can
# be taken while its message is not stored yet and a later one is. Reading newer, a missing number below a
# message sent within FRESH_SECONDS that no tombstone explains is waited for, up to SETTLE_SECONDS; after
# that (an insert that failed, a process that died) it is a gap for good.
FRESH_SECONDS = 30.0
SETTLE_SECONDS = 2.0
# Tombstones looked up per read at most: a gap wider than that just below a fresh message is a bulk
# delete of messages just sent, and is taken as settled (sends in flight take a few numbers each).
SETTLE_LOOKUPS = 2 * BUCKET


def newer(conversation_id: object, at_least: int, above: int = 0) -> tuple[list, bool]:
    """Messages numbered above `above` (else from the first), oldest first, read whole bucket by bucket
    until there are `at_least` of them; and whether they reach the conversation's newest message.

    Exact while messages are sent: a number below a returned message is never still on its way in
    (waited for, see SETTLE_SECONDS), so a token taken from the newest returned message skips nothing."""
    return _newer(_Buckets(conversation_id), at_least, above)


class _Buckets:
    """A conversation's buckets as read once in this call, oldest message first (one equality each)."""

    def __init__(self, conversation_id: object):
        self.conversation_id, self.read = conversation_id, {}

    def __call__(self, bucket: int) -> list:
        if bucket not in self.read:
            self.read[bucket] = list(Message.objects(bucket=f"{self.conversation_id}:{bucket}").order_by("seq"))
        return self.read[bucket]


def _newer(buckets: _Buckets, at_least: int, above: int) -> tuple[list, bool]:
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        found, complete = _newer_once(buckets, at_least, above)
        if not _unsettled(buckets.conversation_id, above, found[:at_least]) or time.monotonic() >= deadline:
            return found, complete
        time.sleep(0.02)
        buckets.read.clear()  # read again what may have come in since


def _newer_once(buckets: _Buckets, at_least: int, above: int) -> tuple[list, bool]:
    first = bucket = (above + 1) // BUCKET
    top_bucket = None  # the counter is read only when the first bucket is not enough
    found: list = []
    while len(found) < at_least:
        if bucket > first:
            if top_bucket is None:
                top_bucket = last_seq(buckets.conversation_id) // BUCKET
            if bucket > top_bucket:
                break
        found.extend(m for m in buckets(bucket) if m.seq > above)
        bucket += 1
    return found, top_bucket is not None and bucket > top_bucket


def _unsettled(conversation_id: object, above: int, found: list) -> bool:
    """Whether a number between `above` and a fresh message of `found` is neither stored nor buried."""
    fresh_since = utcnow() - timedelta(seconds=FRESH_SECONDS)
    expected = above + 1
    tombstones = MessageTombstone._get_collection()
    lookups = SETTLE_LOOKUPS
    for message in found:
        sent_at = message.sent_at if message.sent_at.tzinfo else message.sent_at.replace(tzinfo=timezone.utc)
        if message.seq > expected and sent_at >= fresh_since:
            conversation = ObjectId(str(conversation_id))
            # equalities, rare (only just below a fresh message); the numbers nearest below it
            for seq in range(max(expected, message.seq - lookups), message.seq):
                lookups -= 1
                if tombstones.find_one({"channelId": conversation, "seq": seq}, {"_id": 1}) is None:
                    return True
            if lookups <= 0:
                return False
        expected = message.seq + 1
    return False


def around(conversation_id: object, seq: int, limit: int) -> tuple[list, object, list]:
    """The neighbourhood of number `seq`: up to `half` newer messages (newest first), the message numbered
    `seq` (None when it was deleted: its tombstone still says where it was), up to `half` older messages
    (newest first), with half = max(1, (limit - 1) // 2)."""
    half = max(1, (limit - 1) // 2)
    buckets = _Buckets(conversation_id)  # the message's own bucket is read once for both sides
    anchor = next((m for m in buckets(seq // BUCKET) if m.seq == seq), None)
    older_part: list = []
    bucket = seq // BUCKET
    while bucket >= 0 and len(older_part) < half:
        older_part.extend(m for m in reversed(buckets(bucket)) if m.seq < seq)
        bucket -= 1
    newer_part, _ = _newer(buckets, half, seq)
    return newer_part[:half][::-1], anchor, older_part[:half]
