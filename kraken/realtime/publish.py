"""The only place that emits Socket.IO events or moves sockets between rooms.

Through the Redis message queue both reach sockets on every process.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from kraken.extensions import socketio
from kraken.realtime import names, sockets
from kraken.realtime.rooms import channel_room, community_room

log = logging.getLogger("kraken.realtime")
NAMESPACE = "/"


def publish(event: str, payload: Any, room: str | list[str], skip_sid: str | None = None) -> None:
    """Emit to one room or several (a socket in several gets the event once)."""
    socketio.emit(event, payload, to=room, skip_sid=skip_sid, namespace=NAMESPACE)


def _leave(user_id: str, rooms: Iterable[str]) -> None:
    manager = socketio.server.manager
    rooms = list(rooms)
    for sid in sockets.of_user(user_id):
        for room in rooms:
            try:
                manager.leave_room(sid, NAMESPACE, room)
            except Exception:  # a stale sid: its socket is gone already
                log.debug("leave_room failed", extra={"sid": sid, "room": room})


def member_removed(community_id: str, user_id: str) -> None:
    """A removed member's sockets leave the community's rooms at once, on every process."""
    from kraken.channels.models import Channel
    channel_ids = [str(c) for c in Channel.objects(community_id=community_id).scalar("id")]
    _leave(user_id, [community_room(community_id), *map(channel_room, channel_ids)])


def channel_access_revoked(channel_id: str, user_id: str) -> None:
    _leave(user_id, [channel_room(channel_id)])


def channel_deleted(community_id: str, channel_id: str) -> None:
    payload = {"communityId": community_id, "channelId": channel_id}
    publish(names.CHANNEL_DELETED, payload, [channel_room(channel_id), community_room(community_id)])


def community_deleted(community_id: str) -> None:
    publish(names.COMMUNITY_DELETED, {"communityId": community_id}, community_room(community_id))


def disconnect_sockets(user_id: str, session_id: str | None = None) -> int:
    """Close a user's sockets (of one session, or all) on whichever process holds them."""
    count = 0
    for sid in sockets.of_user(user_id, session_id=session_id):
        try:
            socketio.server.disconnect(sid, namespace=NAMESPACE)
            count += 1
        except Exception:  # already gone
            log.debug("disconnect failed", extra={"sid": sid})
    return count
