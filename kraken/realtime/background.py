"""Process-wide periodic tasks (presence heartbeat and settling, voice-presence sweeper).

The app factory declares them (`declare`, from kraken.realtime.setup); they start in a process the first
time it needs them (`start`: its first socket, its first voice presence), once, and never die. Starting
them when the app is built would run them in every process that builds one (the CLI, a migration, the
test process), and before gunicorn forks a worker when an app is preloaded."""
from __future__ import annotations

import logging
from typing import Callable

from kraken.extensions import socketio

log = logging.getLogger("kraken.realtime")
_started: set[str] = set()
_declared: dict[str, tuple[Callable[[], float], Callable[[], None]]] = {}


def declare(name: str, interval: Callable[[], float], step: Callable[[], None]) -> None:
    """A periodic task of this app (the app factory declares them all)."""
    _declared[name] = (interval, step)


def start(*names: str) -> None:
    """Start these declared tasks in this process unless they run already (cheap when they do)."""
    for name in names:
        if name not in _started and name in _declared:
            every(name, *_declared[name])


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
