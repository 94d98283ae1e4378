"""The Channel document: TEXT or VOICE, public or private, inside one community; and each community's
channel index (`CommunityChannels`), which follows the channels."""
from __future__ import annotations

import secrets
import time
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator, NamedTuple

from bson import ObjectId
from mongoengine import BooleanField, DateTimeField, Document, IntField, ListField, ObjectIdField, StringField
from pymongo.errors import DuplicateKeyError

from kraken import dependents
from kraken.common.time import utcnow

CHANNEL_TYPES = ("TEXT", "VOICE")


class Channel(Document):
    meta = {"collection": "channels",
            # exact names: decisions §4 creates both `general` (TEXT) and `General` (VOICE)
            "indexes": [{"fields": ["community_id", "name"], "unique": True}]}

    name = StringField(required=True, max_length=100)
    community_id = ObjectIdField(required=True, db_field="communityId")
    type = StringField(required=True, choices=CHANNEL_TYPES, default="TEXT")
    is_private = BooleanField(default=False, db_field="isPrivate")
    description = StringField(max_length=1024)
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
    # place among the community's channels of its type, 0-based (kraken.channels.service: move, create)
    position = IntField(default=0, min_value=0)


class ChannelOrderLease(Document):
    """Who is renumbering a community's channels now (decision 0056): one document per community,
    taken by a unique `_id` insert and given back by a delete naming its token; a lease older than
    LEASE_SECONDS (its holder died) is taken over by a compare-and-set on its token. The store, not
    Redis, holds it: a move must stay exclusive while Redis is away."""
    meta = {"collection": "channel_order_leases"}

    id = ObjectIdField(primary_key=True)  # the community's id
    token = StringField(required=True)
    until = DateTimeField(required=True)


LEASE_SECONDS = 10.0   # far longer than a move (a few store round trips)
LEASE_WAIT = 15.0      # how long a move waits for another's lease before it gives up


class LeaseTimeout(RuntimeError):
    """Another writer held the community's channel order for longer than LEASE_WAIT."""


@contextmanager
def channel_order(community_id) -> Iterator[None]:
    """Hold the community's channel order for the block: no other move, creation or renumbering of
    its channels runs at the same time on any process. Raises LeaseTimeout."""
    collection, token = ChannelOrderLease._get_collection(), secrets.token_hex(8)
    key, deadline, pause = ObjectId(str(community_id)), time.monotonic() + LEASE_WAIT, 0.005
    while True:
        now = utcnow()
        try:
            collection.insert_one({"_id": key, "token": token, "until": now + timedelta(seconds=LEASE_SECONDS)})
            break
        except DuplicateKeyError:
            held = collection.find_one({"_id": key})
            if held is not None and held["until"].replace(tzinfo=now.tzinfo) < now and collection.update_one(
                    {"_id": key, "token": held["token"]},
                    {"$set": {"token": token, "until": now + timedelta(seconds=LEASE_SECONDS)}}).modified_count:
                break  # its holder died: taken over
        if time.monotonic() > deadline:
            raise LeaseTimeout(str(community_id))
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    try:
        yield
    finally:
        collection.delete_one({"_id": key, "token": token})


class CommunityChannels(Document):
    """One document per community, keyed by the community's id: its channels' ids and the private ones
    among them. `subscribeAll` reads it (one `_id` equality per community) instead of the channel
    documents: the default store decodes every document a query returns (about 0.1 ms of its CPU each),
    and a user in 20 communities of 21 channels would cost 420 of them after a cache flush (README
    "Storage"). It follows every write of a channel (`_reindex`, declared below); a community without
    channels, or whose data is older than migration 0004, has none and is read from its channels."""
    meta = {"collection": "community_channel_index"}

    id = ObjectIdField(primary_key=True)  # the community's id
    channels = ListField(ObjectIdField())
    private = ListField(ObjectIdField())


class ChannelEntry(NamedTuple):
    """A channel as its community's index knows it (what rbac.may_enter asks of a channel)."""
    id: str
    is_private: bool


def _channel_state(channel_id) -> bool | None:
    """None: no such channel; else whether it is private."""
    found = Channel.objects(id=channel_id).only("is_private").as_pymongo().first()
    return None if found is None else bool(found.get("isPrivate"))


def _apply(community_id, channel_id, state: bool | None) -> None:
    entry = CommunityChannels.objects(id=community_id)
    if state is None:
        entry.update_one(pull__channels=channel_id, pull__private=channel_id)
        return
    changed = (entry.update_one(add_to_set__channels=channel_id, add_to_set__private=channel_id) if state
               else entry.update_one(add_to_set__channels=channel_id, pull__private=channel_id))
    if not changed:  # no index yet (a new community, or data older than migration 0004): all of it
        index_community(community_id)


def index_channel(community_id, channel_id) -> None:
    """Make the community's index say what the channel is now (absent, private or public). Each update
    is one `$addToSet`/`$pull` by value, atomic on the document; then the channel is read again, and
    while it differs from what was written (a concurrent write to the same channel: created while
    deleted, made private while made public) the index is written again from what was read. So
    whichever writer updates the index last saw the channel as it is after every write the others
    made: the index ends equal to the channel whatever the interleaving
    (tests/realtime/test_channel_index.py)."""
    state = _channel_state(channel_id)
    while True:
        _apply(community_id, channel_id, state)
        now = _channel_state(channel_id)
        if now == state:
            return
        state = now


def _community_state(community_id) -> dict:
    return {c: bool(private) for c, private in Channel.objects(community_id=community_id).scalar("id", "is_private")}


def index_community(community_id) -> None:
    """The whole index of a community from its channels, none without channels (the same
    write-then-read-again loop as `index_channel`, so a channel written meanwhile is not lost)."""
    state = _community_state(community_id)
    while True:
        if state:
            CommunityChannels.objects(id=community_id).update_one(
                set__channels=list(state), set__private=[c for c, private in state.items() if private], upsert=True)
        else:
            CommunityChannels.objects(id=community_id).delete()
        now = _community_state(community_id)
        if now == state:
            return
        state = now


def community_channel_entries(community_id) -> tuple[ChannelEntry, ...]:
    """A community's channels as its index knows them: one `_id` look-up, no document built (pymongo's
    find_one: 20 of them cost 3 ms less than through a QuerySet); read from its channels if it has no index."""
    found = CommunityChannels._get_collection().find_one({"_id": ObjectId(community_id)})
    if found is None:
        return tuple(ChannelEntry(str(c), bool(private))
                     for c, private in Channel.objects(community_id=community_id).scalar("id", "is_private"))
    private = set(found.get("private", ()))
    return tuple(ChannelEntry(str(c), c in private) for c in found.get("channels", ()))


def _index_keys(channel) -> list[tuple]:
    """A channel written: (its community, its id); a bulk write of a community's channels, named by
    its fields (`dependents.wrote(Channel, community_id=...)`): (the community, None)."""
    return [(channel.community_id, channel.id if isinstance(channel, Channel) else None)]


def _reindex(keys: set) -> None:
    for community_id, channel_id in keys:
        if channel_id is None:
            index_community(community_id)
        else:
            index_channel(community_id, channel_id)


# Declared here, so before the caches' own dependencies on Channel (kraken.permcache imports this
# module): a write's index update runs before the community's generation moves, and no process can
# stamp the index as it was before the write with the new generation.
dependents.depends(Channel, _index_keys, _reindex)
