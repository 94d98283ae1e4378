"""Pins: pin and unpin a channel message, list a channel's pins (kraken-later-endpoints §12).

The channel's pin board (kraken.pins.models) is the truth; each change is one atomic update of it
whose filter holds the rules (not yet pinned, fewer than the cap; pinned), then the message's own
fields are written from the board, the recent list patched, the moderation log written and the
channel's room told. docs/decisions/0055-pins.md."""
from __future__ import annotations

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from kraken import domain
from kraken.common.lookups import by_ids
from kraken.common.time import utcnow
from kraken.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from kraken.extensions import settings
from kraken.messages import recent
from kraken.messages.models import Message
from kraken.messages.schemas import message_out
from kraken.moderation.models import ModerationAction, record
from kraken.pins.models import PinBoard, entry_key
from kraken.rbac import Action, access_channel, message_access
from kraken.realtime import names
from kraken.realtime.publish import publish
from kraken.realtime.rooms import channel_room
from kraken.users.models import User


def _boards():
    return PinBoard._get_collection()


def _deleted(message) -> bool:
    """Soft-deleted by a moderator (kraken.moderation, when it sets `deletedAt`)."""
    return bool(getattr(message, "deleted_at", None))


def _channel_message(actor, message_id: str, action: Action):
    """The message and its channel, if the actor may act on it with `action`. Raises NotFoundError
    (missing, invisible, soft-deleted), ForbiddenError (a direct message; the action is missing)."""
    message, channel, _grant = message_access(actor, message_id, action)
    if channel is None:
        raise ForbiddenError("Only channel messages can be pinned", code="NOT_A_CHANNEL_MESSAGE")
    if _deleted(message):
        raise NotFoundError("Message not found")
    return message, channel


def _entry(channel_id, message_id) -> dict | None:
    """What the board says of a message: {by, at} when pinned, else None."""
    key = entry_key(message_id)
    board = _boards().find_one({"_id": channel_id}, {"ids": 1, f"meta.{key}": 1})
    if board is None or message_id not in board.get("ids", ()):
        return None
    return board.get("meta", {}).get(key) or {"by": None, "at": None}


def _mirror(message: Message) -> Message:
    """Write the message's pin fields from its board, until the board no longer changes under the
    write (a pin and an unpin racing: whichever writes last read the board after every change)."""
    state = _entry(message.channel_id, message.id)
    while True:
        query = Message.objects(id=message.id)
        if state is None:
            query.update_one(unset__pinned=1, unset__pinned_at=1, unset__pinned_by=1)
        else:
            query.update_one(set__pinned=True, set__pinned_at=state["at"], set__pinned_by=state["by"])
        now = _entry(message.channel_id, message.id)
        if now == state:
            break
        state = now
    message.reload()
    out = message_out(message)
    recent.replaced(message.conversation_id, out["id"], recent.encode(out, message.seq))
    return message


def _heal(channel_id, board: dict) -> bool:
    """Take off the board the ids whose message is gone or soft-deleted (a reply deleted with its
    thread, a crash between a delete and its clean-up); True if any was."""
    ids = list(board.get("ids", ()))
    alive = {m.id for m in by_ids(Message, ids) if not _deleted(m)}
    healed = False
    for message_id in ids:
        if message_id not in alive:
            healed |= _take_off(channel_id, message_id)
    return healed


def _take_off(channel_id, message_id) -> bool:
    """Remove one message from a board (atomic, only if it is there); True if it was."""
    result = _boards().update_one({"_id": channel_id, "ids": message_id},
                                  {"$pull": {"ids": message_id}, "$inc": {"n": -1},
                                   "$unset": {f"meta.{entry_key(message_id)}": ""}})
    return result.modified_count > 0


def _put_on(channel_id, message_id, by, at, cap: int) -> None:
    """Add a message to its channel's board unless it is there or the board is full: one update
    whose filter says both, so of two pins racing for the last place one wins. Raises
    ConflictError (already pinned), ValidationError (the channel has `cap` pins)."""
    healed = False
    while True:
        result = _boards().update_one(
            {"_id": channel_id, "ids": {"$ne": message_id}, "n": {"$lt": cap}},
            {"$push": {"ids": message_id}, "$inc": {"n": 1},
             "$set": {f"meta.{entry_key(message_id)}": {"by": by, "at": at}}})
        if result.modified_count:
            return
        board = _boards().find_one({"_id": channel_id})
        if board is None:
            try:
                _boards().insert_one({"_id": channel_id, "ids": [], "n": 0, "meta": {}})
            except DuplicateKeyError:
                pass
            continue
        if message_id in board.get("ids", ()):
            raise ConflictError("Message is already pinned", code="ALREADY_PINNED")
        if healed or not _heal(channel_id, board):
            raise ValidationError([f"This channel already has the maximum of {cap} pinned messages; "
                                   "unpin one first"], code="PIN_LIMIT_REACHED")
        healed = True


def pin(actor, message_id: str, reason: str | None = None) -> Message:
    """Pin a channel message (PIN_MESSAGE in its community); `messagePinned` to its channel's room.
    Raises NotFoundError, ForbiddenError (direct message, permission), ConflictError (already
    pinned), ValidationError (the channel's cap)."""
    message, channel = _channel_message(actor, message_id, Action.PIN_MESSAGE)
    at = utcnow()
    _put_on(channel.id, message.id, actor.id, at, settings().pins_per_channel)
    message = _mirror(message)
    record(channel.community_id, actor.id, ModerationAction.PIN_MESSAGE, target_user_id=message.author_id,
           target_message_id=message.id, reason=reason, metadata={"channelId": str(channel.id)})
    publish(names.MESSAGE_PINNED, {"messageId": str(message.id), "channelId": str(channel.id),
                                   "pinnedBy": str(actor.id), "pinnedAt": message_out(message)["pinnedAt"]},
            channel_room(channel.id))
    return message


def unpin(actor, message_id: str, reason: str | None = None) -> Message:
    """Unpin a channel message (UNPIN_MESSAGE); `messageUnpinned` to its channel's room. Raises
    NotFoundError, ForbiddenError, ConflictError (not pinned)."""
    message, channel = _channel_message(actor, message_id, Action.UNPIN_MESSAGE)
    if not _take_off(channel.id, message.id):
        raise ConflictError("Message is not pinned", code="NOT_PINNED")
    message = _mirror(message)
    record(channel.community_id, actor.id, ModerationAction.UNPIN_MESSAGE, target_user_id=message.author_id,
           target_message_id=message.id, reason=reason, metadata={"channelId": str(channel.id)})
    publish(names.MESSAGE_UNPINNED, {"messageId": str(message.id), "channelId": str(channel.id),
                                     "unpinnedBy": str(actor.id)}, channel_room(channel.id))
    return message


def pins(actor, channel_id: str) -> list[tuple[Message, User | None]]:
    """A channel's pinned messages, oldest pin first, each with its author (READ_MESSAGE; a private
    channel only for who may enter it). One `_id` look-up for the board, one per message and author.
    Raises NotFoundError, ForbiddenError."""
    channel = access_channel(actor, channel_id, Action.READ_MESSAGE, enter=True)
    board = _boards().find_one({"_id": channel.id}) or {}
    messages = [m for m in by_ids(Message, board.get("ids", ())) if not _deleted(m) and m.pinned]
    messages.sort(key=lambda m: (m.pinned_at, m.id))
    authors = {u.id: u for u in by_ids(User, [m.author_id for m in messages])}
    return [(m, authors.get(m.author_id)) for m in messages]


def _message_deleted(message, **_kwargs) -> None:
    if message.channel_id is not None:
        _take_off(message.channel_id, message.id)


def _channels_removing(community_id, *, channel_ids, **_kwargs) -> None:
    for channel_id in channel_ids:  # one `_id` equality each
        _boards().delete_one({"_id": ObjectId(str(channel_id))})


def init_app() -> None:
    """A deleted message leaves its channel's pins; a deleted channel's board goes with it."""
    domain.connect(domain.message_deleted, _message_deleted)
    domain.connect(domain.channels_removing, _channels_removing)
