"""Message events: sendMessage (ack = the stored id), typing, reactions."""
from __future__ import annotations

from flask import request

from kraken.common.validation import validate
from kraken.messages import service
from kraken.messages.schemas import MessageIn, ReactionIn
from kraken.rbac import require_socket_in_channel, require_socket_in_dm
from kraken.realtime import limits, names
from kraken.realtime.handlers import SocketEvents, id_from
from kraken.realtime.publish import publish

socket_events = SocketEvents()


@socket_events.on(names.SEND_MESSAGE, tier=limits.SEND_MESSAGE)
def on_send_message(actor, payload=None):
    return str(service.send(actor, validate(MessageIn, payload)).id)


def _typing(actor, payload, is_typing: bool) -> None:
    """To the conversation's room, if the socket is in it: `dm:<id>` for a `directMessageGroupId`,
    else the channel's (kraken-later-endpoints §6)."""
    if isinstance(payload, dict) and payload.get("directMessageGroupId") is not None:
        group_id = id_from(payload, "directMessageGroupId")
        room = require_socket_in_dm(request.sid, group_id)
        where = {"directMessageGroupId": group_id}
    else:
        channel_id = id_from(payload, "channelId")
        room = require_socket_in_channel(request.sid, channel_id)
        where = {"channelId": channel_id}
    publish(names.USER_TYPING, {"userId": str(actor.id), **where, "isTyping": is_typing}, room, skip_sid=request.sid)


@socket_events.on(names.TYPING_START, tier=limits.TYPING)
def on_typing_start(actor, payload=None):
    _typing(actor, payload, True)


@socket_events.on(names.TYPING_STOP, tier=limits.TYPING)
def on_typing_stop(actor, payload=None):
    _typing(actor, payload, False)


@socket_events.on(names.ADD_REACTION)
def on_add_reaction(actor, payload=None):
    body = validate(ReactionIn, payload)
    service.react(actor, body.messageId, body.emoji, add=True)


@socket_events.on(names.REMOVE_REACTION)
def on_remove_reaction(actor, payload=None):
    body = validate(ReactionIn, payload)
    service.react(actor, body.messageId, body.emoji, add=False)
