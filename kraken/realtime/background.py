"""Process-wide periodic tasks (presence heartbeat and settling, voice-presence sweeper), and work that
follows a request's answer (`soon`).

The app factory declares them (`declare`, from kraken.realtime.setup); they start in a process the first
time it needs them (`start`: its first socket, its first voice presence), once, and never die. Starting
them when the app is built would run them in every process that builds one (the CLI, a migration, the
test process), and before gunicorn forks a worker when an app is preloaded."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from flask import current_app, has_app_context

from kraken.extensions import socketio

log = logging.getLogger("kraken.realtime")
_started: set[str] = set()
_soon = 0  # `soon` tasks started and not finished in this process
_soon_lock = threading.Lock()
_declared: dict[str, tuple[Callable[[], float], Callable[[], None]]] = {}
_holds: dict[str, threading.Lock] = {}  # a task's step runs holding its lock (`paused`)


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
    hold = _holds.setdefault(name, threading.Lock())

    def loop() -> None:
        while True:
            socketio.sleep(interval())
            try:
                with hold:
                    step()
            except Exception:
                log.warning("periodic task failed", extra={"task": name}, exc_info=True)
                socketio.sleep(1)

    socketio.start_background_task(loop)


@contextmanager
def paused(*names: str) -> Iterator[None]:
    """No step of these periodic tasks runs in this process inside the block (a step under way is
    finished first): for a caller that runs the step itself and must see what it alone did (tests)."""
    held = [_holds.setdefault(name, threading.Lock()) for name in sorted(names)]
    for lock in held:
        lock.acquire()
    try:
        yield
    finally:
        for lock in reversed(held):
            lock.release()


def soon(work: Callable, *args) -> None:
    """Run `work(*args)` in a background task of this process, started now: the request goes on and
    answers without waiting for it (a send's ack does not wait for its read-state reactions). A failure
    is logged. Lost if the process dies first: use it for what can be rebuilt or missed."""
    global _soon
    app = current_app._get_current_object() if has_app_context() else None
    with _soon_lock:
        _soon += 1

    def run() -> None:
        global _soon
        try:
            if app is None:
                work(*args)
            else:  # the work sees the same app as the request that started it (its settings, its signals)
                with app.app_context():
                    work(*args)
        except Exception:
            log.warning("background work failed", extra={"task": getattr(work, "__name__", "?")}, exc_info=True)
        finally:
            with _soon_lock:
                _soon -= 1

    socketio.start_background_task(run)


def wait_soon(timeout: float = 10.0) -> bool:
    """Wait until the `soon` tasks started so far in this process are finished (tests; True when they are)."""
    deadline = time.monotonic() + timeout
    while _soon and time.monotonic() < deadline:
        socketio.sleep(0.005)
    return not _soon
