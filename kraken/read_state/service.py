"""Read watermarks and unread counts (kraken-head-features §2; docs/decisions/0046-read-state.md).

A watermark is the `seq` of the last read message in its conversation (kraken.messages.timeline), kept
in the reader's one ReadState document. It only moves forward: the update is conditional on the stored
seq being lower (one atomic update of one document, also under concurrent marks from several tabs or
processes). Unread = the conversation's last seq minus the watermark, mentions = a counter raised when
a message mentioning the user is stored: no request counts stored messages. The conversations' last
seqs are mirrored in Redis (one MGET for all of them), filled from the counters when a key is missing.
The author's own mark on sending is written behind the send (kraken.read_state.own).
"""
from __future__ import annotations

import logging

from bson import ObjectId
from pymongo.errors import DuplicateKeyError
from redis.exceptions import RedisError

from kraken import domain
from kraken.channels.service import communities_channel_entries
from kraken.common.lookups import each
from kraken.common.time import iso, utcnow
from kraken.direct_messages.models import DirectMessageMembership
from kraken.errors import ValidationError
from kraken.extensions import redis
from kraken.messages import timeline
from kraken.messages.models import Message
from kraken.rbac import Action, access_channel, access_dm_group, enterable_channels, may_enter
from kraken.read_state import own
from kraken.read_state.models import ReadState
from kraken.realtime import background, names
from kraken.realtime.publish import publish
from kraken.realtime.rooms import dm_room, user_room

log = logging.getLogger("kraken.read_state")
CHANNEL, DM = "channel", "dm"
FLUSH_TASK = "own-marks"


def _states():
    return ReadState._get_collection()


def _mark(user_id, conversation_id: str, kind: str, message_id: str, seq: int, at=None) -> tuple[dict, bool]:
    """Move the user's watermark in a conversation to `seq` if it is further; returns the stored mark
    and whether it moved."""
    key = f"marks.{conversation_id}"
    mark = {"seq": seq, "messageId": message_id, "at": at or utcnow(), "kind": kind}
    behind = {"_id": user_id, "$or": [{f"{key}.seq": {"$lt": seq}}, {key: {"$exists": False}}]}
    moved = _states().update_one(behind, {"$set": {key: mark}}).modified_count == 1
    if not moved:
        try:
            _states().insert_one({"_id": user_id, "marks": {conversation_id: mark}, "mentions": {}})
            moved = True
        except DuplicateKeyError:  # the document exists: the mark was not behind, or a concurrent first mark
            moved = _states().update_one(behind, {"$set": {key: mark}}).modified_count == 1
    if moved:
        return mark, True
    stored = _states().find_one({"_id": user_id}, {key: 1}) or {}
    return stored.get("marks", {}).get(conversation_id, mark), False


def _where(kind: str, conversation_id: str) -> dict:
    return {"channelId": conversation_id if kind == CHANNEL else None,
            "directMessageGroupId": conversation_id if kind == DM else None}


def _event(kind: str, conversation_id: str, mark: dict) -> dict:
    return {**_where(kind, conversation_id), "lastReadMessageId": mark["messageId"], "lastReadAt": iso(mark["at"])}


def _conversation(actor, body) -> tuple[str, str]:
    """The conversation named by a mark, if the actor may read it (NotFoundError/ForbiddenError else)."""
    if body.channelId is not None:
        channel = access_channel(actor, body.channelId, Action.READ_MESSAGE, enter=True)
        return CHANNEL, str(channel.id)
    return DM, str(access_dm_group(actor, body.directMessageGroupId).id)


def mark_read(actor, body, announce: bool = True) -> dict:
    """Move the actor's watermark (forward only), clear their mentions there, and send
    `readReceiptUpdated` (the stored values, moved or not) to their devices, and for a DM to its room
    with who read. Returns the receipt. Raises 404/403 for a conversation the actor cannot read, 400 for
    a message that is not of it."""
    kind, conversation_id = _conversation(actor, body)
    seq = timeline.position(conversation_id, body.lastReadMessageId)
    if seq is None:
        if Message.objects(id=body.lastReadMessageId).count() == 0:
            raise ValidationError(["Message not found"])
        raise ValidationError(["Message does not belong to the specified channel or DM group"])
    mark, _ = _mark(actor.id, conversation_id, kind, body.lastReadMessageId, seq)
    mark = own.further(mark, own.pending(actor.id).get(conversation_id))
    _states().update_one({"_id": actor.id}, {"$unset": {f"mentions.{conversation_id}": ""}})
    event = _event(kind, conversation_id, mark)
    if announce:
        publish(names.READ_RECEIPT_UPDATED, event, user_room(actor.id))
        if kind == DM:
            reader = {"userId": str(actor.id), "username": actor.username, "displayName": actor.display_name,
                      "avatarUrl": actor.avatar_url}
            publish(names.READ_RECEIPT_UPDATED, {**event, **reader}, dm_room(conversation_id))
    return {"id": f"{actor.id}:{conversation_id}", "userId": str(actor.id), **event}


def _last_seqs(user_id, conversations: list[tuple[str, str, object]]) -> list[int]:
    """The last seq of each (kind, conversation, community): one MGET of the mirror; for missing keys
    the counters, read per community for channels and for all the user's DM groups at once (one
    equality each, a few at a time), then mirrored again."""
    ids = [c for _, c, _ in conversations]
    try:
        found = redis.mget([own.SEQ + c for c in ids]) if ids else []
    except RedisError:
        found = [None] * len(ids)
    by_community: dict[object, list[str]] = {}
    groups = []
    for (kind, conversation_id, community_id), value in zip(conversations, found):
        if value is None and kind == CHANNEL:
            by_community.setdefault(community_id, []).append(conversation_id)
        elif value is None:
            groups.append(conversation_id)
    reads = [(timeline.community_last_seqs, community_id, channels) for community_id, channels in by_community.items()]
    if groups:
        reads.append((timeline.reader_last_seqs, user_id, groups))
    counted = {}
    for seqs in each(lambda read: read[0](read[1], read[2]), reads):
        counted.update(seqs)
    own.raise_seqs(counted)
    return [int(value) if value is not None else counted[c] for c, value in zip(ids, found)]


def _dm_groups(user_id) -> list[str]:
    return [str(d["groupId"]) for d in DirectMessageMembership.objects(user_id=user_id).only("group_id").as_pymongo()]


def _conversations(actor) -> list[tuple[str, str, object]]:
    """Every conversation the actor may read now, as (kind, id, community or None): the channels they
    may enter in their communities (two membership queries and each community's channel index) and
    their DM groups (one equality)."""
    enterable = enterable_channels(actor)
    lists = communities_channel_entries(list(enterable))
    found = [(CHANNEL, str(c.id), community_id) for community_id, private in enterable.items()
             for c in lists[str(community_id)] if may_enter(c, private)]
    return found + [(DM, g, None) for g in _dm_groups(actor.id)]


def unread_counts(actor) -> list[dict]:
    """`UnreadCount` of every conversation the actor may read (omitted: never read and empty)."""
    conversations = _conversations(actor)
    state = _states().find_one({"_id": actor.id}) or {}
    marks, mentions, waiting = state.get("marks", {}), state.get("mentions", {}), own.pending(actor.id)
    out = []
    for (kind, conversation_id, _), last in zip(conversations, _last_seqs(actor.id, conversations)):
        mark = own.further(marks.get(conversation_id), waiting.get(conversation_id))
        if mark is None and last == 0:
            continue
        item = {**{k: v for k, v in _where(kind, conversation_id).items() if v is not None},
                "unreadCount": max(0, last - (mark["seq"] if mark else 0)),
                "mentionCount": int(mentions.get(conversation_id, 0))}
        if mark is not None:
            item.update(lastReadMessageId=mark["messageId"], lastReadAt=iso(mark["at"]))
        out.append(item)
    return out


def dm_peer_reads(actor, group_id: str) -> list[dict]:
    """Every other member of the group who has read it: `[{userId, lastReadAt}]` (members only)."""
    group = access_dm_group(actor, group_id)
    out = []
    peers = [u for u in DirectMessageMembership.objects(group_id=group.id).scalar("user_id") if u != actor.id]
    for user_id, waiting in zip(peers, own.pending_in(peers, str(group.id))):
        state = _states().find_one({"_id": user_id}, {f"marks.{group.id}": 1}) or {}
        mark = own.further(state.get("marks", {}).get(str(group.id)), waiting)
        if mark is not None:
            out.append({"userId": str(user_id), "lastReadAt": iso(mark["at"])})
    return out


def _message_stored(message) -> None:
    """A stored channel or DM message: its read-state reactions run after the send's ack."""
    if message.parent_message_id is not None or message.seq is None:
        return  # a thread reply: threads keep no read state here
    background.soon(_count_and_mark, message)


def _count_and_mark(message) -> None:
    """Raise the message's conversation's mirrored seq, count a mention for each mentioned member (not
    the author), and mark it read for its author (their devices are told; the mark is written behind,
    kraken.read_state.own)."""
    conversation_id = str(message.conversation_id)
    kind = DM if message.direct_message_group_id is not None else CHANNEL
    mentioned = {str(_get(s, "userId")) for s in message.spans if _get(s, "type") == "USER_MENTION"}
    for user_id in mentioned - {str(message.author_id)}:
        _states().update_one({"_id": ObjectId(user_id)}, {"$inc": {f"mentions.{conversation_id}": 1}}, upsert=True)
    mark = own.note(message.author_id, conversation_id, kind, str(message.id), message.seq, utcnow())
    if mark is not None:
        background.start(FLUSH_TASK)
        publish(names.READ_RECEIPT_UPDATED, _event(kind, conversation_id, mark), user_room(message.author_id))


def write_own_marks() -> int:
    """One round of writing the authors' pending own marks (forward only); returns how many."""
    return own.flush(lambda user_id, conversation_id, mark: _mark(
        user_id, conversation_id, mark["kind"], mark["messageId"], mark["seq"], mark["at"]))


def _get(span, field: str):
    return span.get(field) if isinstance(span, dict) else getattr(span, field, None)


def _user_removing(user) -> None:
    """A deleted account's watermarks and mention counters: its pending own marks first, so that no
    round writes them into a new document afterwards."""
    own.forget(user.id)
    _states().delete_one({"_id": user.id})


def init_app() -> None:
    domain.connect(domain.message_stored, _message_stored)
    domain.connect(domain.user_removing, _user_removing)
    background.declare(FLUSH_TASK, lambda: own.FLUSH_SECONDS, write_own_marks)
