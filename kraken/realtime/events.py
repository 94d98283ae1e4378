"""Room events: subscribeAll (the current client, kraken-later-endpoints §11), joinAll, joinRoom,
leaveRoom (the a169fe1 client, decisions §5); and presenceOnline. Later membership changes move
sockets on the server (kraken.realtime.subscriptions)."""
from __future__ import annotations

from flask import request
from flask_socketio import join_room, leave_room

from kraken.common.ids import parse_object_id
from kraken.errors import ValidationError
from kraken.rbac import Action, access_channel, access_community, current_grant
from kraken.realtime import limits, names
from kraken.realtime.handlers import socket_event
from kraken.realtime.rooms import channel_room
from kraken.realtime.subscriptions import all_community_rooms, community_rooms


def _id_from(payload, key: str) -> str:
    """Events take a bare id string (the contract) or `{<key>: id}`."""
    value = payload.get(key) if isinstance(payload, dict) else payload
    if not isinstance(value, str):
        raise ValidationError([f"{key}: a 24-hex id is required"])
    return str(parse_object_id(value))


def _join(rooms: list[str]) -> None:
    for room in rooms:
        join_room(room)


@socket_event(names.JOIN_ALL, tier=limits.JOINS)
def on_join_all(actor, payload=None):
    community = access_community(actor, _id_from(payload, "communityId"), Action.READ_COMMUNITY)
    _join(community_rooms(actor, community.id, current_grant()))


@socket_event(names.SUBSCRIBE_ALL, tier=limits.JOINS)
def on_subscribe_all(actor, payload=None):
    _join(all_community_rooms(actor))


@socket_event(names.JOIN_ROOM, tier=limits.JOINS)
def on_join_room(actor, payload=None):
    channel = access_channel(actor, _id_from(payload, "channelId"), Action.READ_MESSAGE, enter=True)
    join_room(channel_room(channel.id))


@socket_event(names.LEAVE_ROOM, tier=limits.JOINS)
def on_leave_room(actor, payload=None):
    leave_room(channel_room(_id_from(payload, "channelId")))


@socket_event(names.PRESENCE_ONLINE)
def on_presence_online(actor, payload=None):
    from kraken.presence import service as presence
    presence.heartbeat(request.sid)
    return "ACK"
