"""Messages: one service behind REST and Socket.IO — validate, authorise, store, then broadcast.

A message acknowledged to its sender is stored: the store happens before the
broadcast and the ack, and an idempotent `nonce` returns the stored id again.
"""
from __future__ import annotations

import logging
import time

from bson import ObjectId
from redis.exceptions import RedisError

from kraken import dependents, domain
from kraken.alias_groups.lookups import groups_in_community
from kraken.channels.models import Channel
from kraken.common.groupcommit import GroupCommit
from kraken.common.time import utcnow
from kraken.errors import NotFoundError, ServiceUnavailableError, ValidationError
from kraken.extensions import redis
from kraken.files import service as files
from kraken.memberships.models import Membership
from kraken.messages import recent, timeline
from kraken.messages.models import Message
from kraken.messages.schemas import DirectMessageIn, MessageEditIn, MessageIn, message_out
from kraken.rbac import (Action, access_channel, access_dm_group, access_message_to_delete, access_message_to_edit,
                         is_dm_member, message_access, require_community_actions, require_not_timed_out)
from kraken.realtime import names
from kraken.realtime.publish import publish
from kraken.realtime.rooms import channel_room, dm_room

log = logging.getLogger("kraken.messages")
NONCE_TTL = 600  # seconds a nonce keeps a send idempotent (docs/decisions/0013-one-send-path.md)
_NONCE = "kraken:nonce:"
# each batch is numbered in its channels just before it is written (one counter update per channel)
_inserts = GroupCommit(Message._get_collection, prepare=timeline.number)


def check_mentions(channel, spans) -> None:
    """Mentions must name users, channels and alias groups of this message's community.
    `COMMUNITY_MENTION` is display only: its id is not looked up (the current client sends a channel's
    id there for `#channel`; docs/decisions/0061-alias-groups.md)."""
    community_id = channel.community_id
    users = {s.userId for s in spans if s.type == "USER_MENTION"}
    channels = {s.channelId for s in spans if s.type == "CHANNEL_MENTION"}
    aliases = {ObjectId(s.aliasId) for s in spans if s.type == "ALIAS_MENTION"}
    # one equality look-up each: the default store reads an `$in` by scanning (README "Storage")
    if not all(Membership.objects(community_id=community_id, user_id=u).count() for u in users):
        raise ValidationError(["spans: a mentioned user is not a member of this community"])
    if not all(Channel.objects(community_id=community_id, id=c).count() for c in channels):
        raise ValidationError(["spans: a mentioned channel is not in this community"])
    if aliases and groups_in_community(community_id, aliases) != aliases:
        raise ValidationError(["spans: a mentioned alias group is not in this community"])


def check_dm_mentions(group_id, spans) -> None:
    """In a direct message, mentioned users must be members of its group; no channel or alias group
    (a conversation belongs to no community). `COMMUNITY_MENTION` is display only, as in a channel."""
    if any(s.type == "CHANNEL_MENTION" for s in spans):
        raise ValidationError(["spans: a direct message cannot mention a channel"])
    if any(s.type == "ALIAS_MENTION" for s in spans):
        raise ValidationError(["spans: a direct message cannot mention an alias group"])
    if not all(is_dm_member(s.userId, group_id) for s in spans if s.type == "USER_MENTION"):
        raise ValidationError(["spans: a mentioned user is not a member of this conversation"])


def room_of(message) -> str:
    """The room of a message's conversation: its direct-message group's, or its channel's."""
    if message.direct_message_group_id is not None:
        return dm_room(message.direct_message_group_id)
    return channel_room(message.channel_id)


def _where(message) -> dict:
    return {"channelId": None if message.channel_id is None else str(message.channel_id),
            "directMessageGroupId": (None if message.direct_message_group_id is None
                                     else str(message.direct_message_group_id))}


def _span_docs(spans) -> list[dict]:
    return [s.model_dump(exclude_none=True) for s in spans]


def _claim_nonce(author_id: str, nonce: str, message_id: ObjectId) -> str | None:
    """Reserve `nonce` for `message_id`; returns the id already holding it, if any."""
    key = f"{_NONCE}{author_id}:{nonce}"
    try:
        if redis.set(key, str(message_id), nx=True, ex=NONCE_TTL):
            return None
        return redis.get(key)
    except RedisError:
        # Without Redis, fall back to the database (a narrower window, but no duplicate in the common case).
        existing = Message.objects(author_id=author_id, nonce=nonce).only("id").first()
        return str(existing.id) if existing else None


def _release_nonce(author_id: str, nonce: str) -> None:
    try:
        redis.delete(f"{_NONCE}{author_id}:{nonce}")
    except RedisError:
        pass


def _stored(message_id: str, wait_seconds: float = 3.0) -> Message | None:
    """The message a duplicate nonce points at, once its first send has stored it."""
    deadline = time.monotonic() + wait_seconds
    while True:
        message = Message.objects(id=message_id).first()
        if message is not None or time.monotonic() > deadline:
            return message
        time.sleep(0.05)


def send(actor, body: MessageIn) -> Message:
    """Store a message and broadcast `newMessage` to its channel room.

    Raises NotFoundError/ForbiddenError (channel), ValidationError (spans, attachments),
    ServiceUnavailableError when a duplicate send's original could not be confirmed.
    """
    channel = access_channel(actor, body.channelId, Action.CREATE_MESSAGE, enter=True)
    require_not_timed_out(actor, channel.community_id)
    check_mentions(channel, body.spans)
    if body.attachments:
        require_community_actions(actor, channel.community_id, Action.CREATE_ATTACHMENT)
    attachments = []
    if body.attachments:
        attachments = files.claim_attachments(actor, channel, list(body.attachments))
    message, out = _store(actor, body, attachments, channel_id=channel.id)
    if out is not None:
        publish(names.NEW_MESSAGE, {"message": out}, channel_room(channel.id))
    return message


def send_direct(actor, body: DirectMessageIn) -> Message:
    """Store a direct message and broadcast `newDirectMessage` to its group's room (`dm:<id>`).
    Membership of the group is the only permission. Raises NotFoundError (not a member),
    ValidationError (spans, attachments), ServiceUnavailableError as `send`."""
    group = access_dm_group(actor, body.directMessageGroupId)
    check_dm_mentions(group.id, body.spans)
    attachments = files.claim_attachments(actor, group, list(body.attachments)) if body.attachments else []
    message, out = _store(actor, body, attachments, direct_message_group_id=group.id)
    if out is not None:
        publish(names.NEW_DM, {"message": out}, dm_room(group.id))
    return message


def _store(actor, body, attachments: list, **where) -> tuple[Message, dict | None]:
    """The storing step of every send: the nonce, the group commit, the attachments, the recent list.
    `where`: channel_id= or direct_message_group_id=. Returns (message, its JSON), or (the stored
    message, None) for a repeated nonce (nothing to publish)."""
    message_id = ObjectId()
    if body.nonce:
        existing = _claim_nonce(str(actor.id), body.nonce, message_id)
        if existing is not None:
            message = _stored(existing)
            if message is None:
                raise ServiceUnavailableError("The first send with this nonce is not stored yet; retry")
            return message, None
    message = Message(id=message_id, author_id=actor.id, spans=_span_docs(body.spans),
                      attachments=attachments, nonce=body.nonce,
                      pending_attachments=getattr(body, "pendingAttachments", None) or None, **where)
    try:
        # validated above (schemas, mentions, claimed attachments): insert without Document.save()'s
        # second validation and change tracking, sharing the command with concurrent sends
        document = message.to_mongo()
        _inserts.insert(document)
        message.seq, message.bucket = document["seq"], document["bucket"]
        if attachments:
            files.attach([a["id"] for a in attachments], message.id)
    except Exception:
        Message.objects(id=message_id).delete()
        if body.nonce:
            _release_nonce(str(actor.id), body.nonce)
        raise
    out = message_out(message)
    recent.added(message.conversation_id, recent.encode(out, message.seq))
    domain.message_stored.send(message)  # read state: counters, the author's own watermark
    return message, out


def edit(actor, message_id: str, body: MessageEditIn) -> Message:
    """The author edits their message; `editedAt` is the server's time. Raises 404/403."""
    message, channel = access_message_to_edit(actor, message_id)
    if channel is None:
        check_dm_mentions(message.direct_message_group_id, body.spans)
    else:
        require_not_timed_out(actor, channel.community_id)
        check_mentions(channel, body.spans)
    previous_spans = list(message.spans)
    Message.objects(id=message.id).update_one(set__spans=_span_docs(body.spans), set__edited_at=utcnow())
    message.reload()
    domain.message_edited.send(message, previous_spans=previous_spans)  # search indexes the new words
    out = message_out(message)
    recent.replaced(message.conversation_id, out["id"], recent.encode(out, message.seq))
    publish(names.UPDATE_MESSAGE, {"message": out}, room_of(message))
    return message


def add_attachment(actor, message_id: str, file_id: str | None) -> Message:
    """After sending (KLE §2.3): the author adds a file they uploaded for the message's conversation,
    within the message's 10 attachments; either way one pending attachment is counted down. Broadcasts
    `updateMessage`. Raises NotFoundError, ForbiddenError (not the author, no CREATE_ATTACHMENT),
    ValidationError (foreign, unknown or attached file; over 10), ConflictError (attached meanwhile).
    """
    message, channel = access_message_to_edit(actor, message_id)
    if file_id is not None:
        if channel is not None:
            require_community_actions(actor, channel.community_id, Action.CREATE_ATTACHMENT)
        conversation = channel.id if channel is not None else message.direct_message_group_id
        entry = files.claim_attachments(actor, conversation, [file_id])[0]
        files.attach([file_id], message.id)
        # a conditional push: two concurrent adds cannot take the message past its limit
        limit = {f"attachments__{files.MAX_ATTACHMENTS - 1}__exists": False}
        if not Message.objects(id=message.id, **limit).update_one(push__attachments=entry):
            files.detach([file_id], message.id)
            raise ValidationError([f"attachments: at most {files.MAX_ATTACHMENTS} files per message"])
    Message.objects(id=message.id, pending_attachments__gt=0).update_one(dec__pending_attachments=1)
    message.reload()
    out = message_out(message)
    recent.replaced(message.conversation_id, out["id"], recent.encode(out, message.seq))
    publish(names.UPDATE_MESSAGE, {"message": out}, room_of(message))
    return message


def delete(actor, message_id: str) -> None:
    """Hard delete by the author, or by DELETE_MESSAGE holders of the message's own community."""
    remove(access_message_to_delete(actor, message_id))


def remove(message) -> None:
    """Hard delete of a message its caller was allowed to delete (its author, a DELETE_MESSAGE holder,
    a moderator: kraken.moderation): the message, its thread, its files; `deleteMessage` to its room.
    Raises NotFoundError when a concurrent delete removed it first (only one of them announces it)."""
    timeline.bury(message)  # first: a continuation token naming it keeps its place
    if not Message.objects(id=message.id).delete():
        raise NotFoundError("Message not found")
    recent.removed(message.conversation_id, str(message.id))
    file_ids = [a["id"] for a in message.attachments if a.get("id")]
    if file_ids:
        files.delete_files(file_ids)
    domain.message_deleted.send(message)  # its thread's replies go too; a reply's parent counts one less
    publish(names.DELETE_MESSAGE, {"messageId": str(message.id), **_where(message)}, room_of(message))


def react(actor, message_id: str, emoji: str, add: bool) -> Message:
    """Add or remove the caller's reaction (idempotent, atomic); broadcasts reactionAdded/Removed."""
    action = Action.CREATE_REACTION if add else Action.DELETE_REACTION
    message, channel, _ = message_access(actor, message_id, action)
    if channel is not None:
        require_not_timed_out(actor, channel.community_id)
    pair = {"emoji": emoji, "userId": str(actor.id)}
    if add:
        Message.objects(id=message.id).update_one(add_to_set__reactions=pair)
    else:
        Message.objects(id=message.id).update_one(pull__reactions=pair)
    message.reload()
    out = message_out(message)
    recent.replaced(message.conversation_id, out["id"], recent.encode(out, message.seq))
    common = {"messageId": str(message.id), **_where(message),
              "parentMessageId": None if message.parent_message_id is None else str(message.parent_message_id)}
    if add:
        group = next(r for r in out["reactions"] if r["emoji"] == emoji)
        publish(names.REACTION_ADDED, {**common, "reaction": group}, room_of(message))
    else:
        publish(names.REACTION_REMOVED, {**common, "emoji": emoji, "reactions": out["reactions"]}, room_of(message))
    return message


def delete_for_channels(channel_ids) -> None:
    if channel_ids:
        with dependents.batch():
            for channel_id in channel_ids:  # one equality each: the default store scans an `$in`
                Message.objects(channel_id=channel_id).delete()
                dependents.wrote(Message, channel_id=channel_id)
        timeline.forget_channels(channel_ids)


def _channels_removing(community_id, *, channel_ids) -> None:
    delete_for_channels(channel_ids)


def init_app() -> None:
    """Deleting a channel deletes its messages."""
    domain.connect(domain.channels_removing, _channels_removing)
