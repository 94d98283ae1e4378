"""Kraken's own gunicorn.conf.py plus a pymongo command listener: the `scale` workload's counting server.

Every database command the worker sends is appended to $BENCH_DB_LOG as one line,
"<monotonic ns> <command> <collection> <duration µs>" (pymongo's own round-trip time), so the bench can
say how many commands a request makes and how long it waits on the store. Nothing else changes; the
measured rows run on servers started with gunicorn.conf.py alone.
"""
import os
import time
from pathlib import Path

from pymongo import monitoring

_CONF = Path.cwd() / "gunicorn.conf.py"  # the app under test's (the bench starts gunicorn in its directory)
exec(compile(_CONF.read_text(), str(_CONF), "exec"))  # bind, worker class, post_worker_init, ...


class _Commands(monitoring.CommandListener):
    def __init__(self, path: str):
        self._out = open(path, "a", buffering=1)
        self._pending: dict[int, tuple[str, str]] = {}

    def started(self, event) -> None:
        target = event.command.get(event.command_name, "")
        self._pending[event.request_id] = (event.command_name, target if isinstance(target, str) else "-")

    def _write(self, event, failed: bool) -> None:
        name, target = self._pending.pop(event.request_id, (event.command_name, "?"))
        self._out.write(f"{time.monotonic_ns()} {name}{'!' if failed else ''} {target} {event.duration_micros}\n")

    def succeeded(self, event) -> None:
        self._write(event, False)

    def failed(self, event) -> None:
        self._write(event, True)


if os.environ.get("BENCH_DB_LOG"):
    monitoring.register(_Commands(os.environ["BENCH_DB_LOG"]))
