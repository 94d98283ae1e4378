"""The only place that emits Socket.IO events; through the Redis queue they reach every process."""
from __future__ import annotations

from typing import Any

from kraken.extensions import socketio


def publish(event: str, payload: Any, room: str, skip_sid: str | None = None) -> None:
    socketio.emit(event, payload, to=room, skip_sid=skip_sid)
