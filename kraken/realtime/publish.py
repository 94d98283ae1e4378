"""The only place that emits Socket.IO events or moves sockets between rooms.

Through the Redis message queue both reach sockets on every process. Which rooms a membership
change moves sockets into or out of is decided in `kraken.realtime.subscriptions`.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from kraken.extensions import socketio
from kraken.realtime import sockets

log = logging.getLogger("kraken.realtime")
NAMESPACE = "/"


def publish(event: str, payload: Any, room: str | list[str], skip_sid: str | None = None) -> None:
    """Emit to one room or several (a socket in several gets the event once)."""
    socketio.emit(event, payload, to=room, skip_sid=skip_sid, namespace=NAMESPACE)


def publish_each(event: str, items: list[tuple[str, Any]]) -> None:
    """Emit `event` to many rooms, each with its own payload ([(room, payload)]): one queue message
    for all of them where the queue supports it (kraken.realtime.queue), else one emit each."""
    manager = socketio.server.manager
    if hasattr(manager, "emit_each"):
        manager.emit_each(event, items, namespace=NAMESPACE)
    else:
        for room, payload in items:
            publish(event, payload, room)


def move_sockets(selector: str, join: Iterable[str] = (), leave: Iterable[str] = ()) -> None:
    """Every socket in room `selector`, on every process, leaves `leave` and enters `join`; in
    order with the events published before and after (one queue, kraken.realtime.queue)."""
    socketio.server.manager.move_sockets(selector, join=join, leave=leave, namespace=NAMESPACE)


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
