"""Process-wide periodic tasks (presence heartbeat, voice-presence sweeper): started once, never die."""
from __future__ import annotations

import logging
from typing import Callable

from kraken.extensions import socketio

log = logging.getLogger("kraken.realtime")
_started: set[str] = set()


def every(name: str, interval: Callable[[], float], step: Callable[[], None]) -> None:
    """Run `step` every `interval()` seconds in a background task, once per process; a failing step
    is logged and retried (Redis or the database may be restarting)."""
    if name in _started:
        return
    _started.add(name)

    def loop() -> None:
        while True:
            socketio.sleep(interval())
            try:
                step()
            except Exception:
                log.warning("periodic task failed", extra={"task": name}, exc_info=True)
                socketio.sleep(1)

    socketio.start_background_task(loop)
