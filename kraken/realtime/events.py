"""Room events: subscribeAll (the current client, kraken-later-endpoints §11: communities, channels,
direct-message groups, alias groups), joinAll, joinRoom,
leaveRoom (the a169fe1 client, docs/decisions/0014-socket-authentication-and-rooms.md); and
presenceOnline. Later membership changes move sockets on the server (kraken.realtime.subscriptions)."""
from __future__ import annotations

from flask import request
from flask_socketio import join_room, leave_room

from kraken.presence import service as presence
from kraken.rbac import Action, access_channel, access_community, current_grant
from kraken.realtime import limits, names
from kraken.realtime.handlers import SocketEvents, id_from
from kraken.realtime.rooms import channel_room
from kraken.realtime.subscriptions import all_alias_rooms, all_community_rooms, all_dm_rooms, community_rooms

socket_events = SocketEvents()


def _join(rooms: list[str]) -> None:
    for room in rooms:
        join_room(room)


@socket_events.on(names.JOIN_ALL, tier=limits.JOINS)
def on_join_all(actor, payload=None):
    community = access_community(actor, id_from(payload, "communityId"), Action.READ_COMMUNITY)
    _join(community_rooms(actor, community.id, current_grant()))


@socket_events.on(names.SUBSCRIBE_ALL, tier=limits.JOINS)
def on_subscribe_all(actor, payload=None):
    _join(all_community_rooms(actor) + all_dm_rooms(actor) + all_alias_rooms(actor))


@socket_events.on(names.JOIN_ROOM, tier=limits.JOINS)
def on_join_room(actor, payload=None):
    channel = access_channel(actor, id_from(payload, "channelId"), Action.READ_MESSAGE, enter=True)
    join_room(channel_room(channel.id))


@socket_events.on(names.LEAVE_ROOM, tier=limits.JOINS)
def on_leave_room(actor, payload=None):
    leave_room(channel_room(id_from(payload, "channelId")))


@socket_events.on(names.PRESENCE_ONLINE)
def on_presence_online(actor, payload=None):
    presence.heartbeat(request.sid)
    return "ACK"
