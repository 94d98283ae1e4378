"""Message events: sendMessage (ack = the stored id), typing, reactions."""
from __future__ import annotations

from flask import request

from kraken.common.validation import validate
from kraken.errors import NotFoundError
from kraken.messages import service
from kraken.messages.schemas import MessageIn, ReactionIn
from kraken.realtime import limits, names
from kraken.realtime.events import _id_from
from kraken.realtime.handlers import socket_event
from kraken.realtime.publish import publish
from kraken.realtime.rooms import channel_room


@socket_event(names.SEND_MESSAGE, tier=limits.SEND_MESSAGE)
def on_send_message(actor, payload=None):
    return str(service.send(actor, validate(MessageIn, payload)).id)


def _typing(actor, payload, is_typing: bool) -> None:
    from kraken.extensions import socketio
    channel_id = _id_from(payload, "channelId")
    room = channel_room(channel_id)
    # only a socket already in the room (it was authorised when it joined) may type there
    if room not in socketio.server.rooms(request.sid, namespace="/"):
        raise NotFoundError("Channel not found")
    publish(names.USER_TYPING, {"userId": str(actor.id), "channelId": channel_id, "isTyping": is_typing}, room,
            skip_sid=request.sid)


@socket_event(names.TYPING_START, tier=limits.TYPING)
def on_typing_start(actor, payload=None):
    _typing(actor, payload, True)


@socket_event(names.TYPING_STOP, tier=limits.TYPING)
def on_typing_stop(actor, payload=None):
    _typing(actor, payload, False)


@socket_event(names.ADD_REACTION)
def on_add_reaction(actor, payload=None):
    body = validate(ReactionIn, payload)
    service.react(actor, body.messageId, body.emoji, add=True)


@socket_event(names.REMOVE_REACTION)
def on_remove_reaction(actor, payload=None):
    body = validate(ReactionIn, payload)
    service.react(actor, body.messageId, body.emoji, add=False)
