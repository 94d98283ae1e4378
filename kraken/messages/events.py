"""Message events: sendMessage (ack = the stored id), typing, reactions."""
from __future__ import annotations

from flask import request

from kraken.common.validation import validate
from kraken.errors import NotFoundError
from kraken.extensions import socketio
from kraken.messages import service
from kraken.messages.schemas import MessageIn, ReactionIn
from kraken.realtime import limits, names
from kraken.realtime.handlers import SocketEvents, id_from
from kraken.realtime.publish import publish
from kraken.realtime.rooms import channel_room

socket_events = SocketEvents()


@socket_events.on(names.SEND_MESSAGE, tier=limits.SEND_MESSAGE)
def on_send_message(actor, payload=None):
    return str(service.send(actor, validate(MessageIn, payload)).id)


def _typing(actor, payload, is_typing: bool) -> None:
    channel_id = id_from(payload, "channelId")
    room = channel_room(channel_id)
    # only a socket already in the room (it was authorised when it joined) may type there
    if room not in socketio.server.rooms(request.sid, namespace="/"):
        raise NotFoundError("Channel not found")
    publish(names.USER_TYPING, {"userId": str(actor.id), "channelId": channel_id, "isTyping": is_typing}, room,
            skip_sid=request.sid)


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
