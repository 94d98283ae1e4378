"""Process-local copies of small Redis keys, kept honest by Redis itself (server-assisted
client-side caching: `CLIENT TRACKING ON BCAST PREFIX ...` on a RESP3 connection of this process).

Every authenticated request and socket event reads a few tiny keys: the token's revocation
markers and the cache generations of the user and of the community. Reading them costs a Redis
round trip per request; holding them locally costs nothing, *if* a change made by any process is
seen at once. Redis tells: whenever a key under one of our prefixes is written, deleted, expires
or the database is flushed, it pushes an `invalidate` message to this process's tracking
connection, in the same turn of its event loop as it answers the writer. So:

- `get(keys)` first reads whatever invalidations have already reached this process (one
  non-blocking `recv`), then answers from the local copies, or None when any key is not held;
- a caller that had to read Redis takes a `ticket()` *before* its read and `put`s what it read
  with it; a value is kept only if no invalidation of its key (nor a flush, nor a reconnect)
  came in between, so a read that raced a write is never kept;
- without a live tracking connection (not yet connected, Redis down, a lost connection, a server
  without tracking) nothing is held and every caller reads Redis, as before. The connection is
  pinged every second; one silent for `DEAD_AFTER_S` is dropped with everything held.

A background thread (a greenlet under gevent) reads the connection between requests; requests
read it too, under the same lock and never blocking, so neither waits for the other.

Why not redis-py's own client-side caching (`Redis(protocol=3, cache_config=...)`): it refuses
servers before Redis 7.4 (ours is 7.0), tracks per pooled connection and reads invalidations only
when that connection is used again, never pings, and has no way to say "tracking is off, read
Redis" or "tracking is back"; see docs/decisions/0040-redis-client-side-caching.md. redis-py still sets
the connection up (kraken.adapters.redis).
"""
from __future__ import annotations

import logging
import os
import select
import ssl
import threading
import time
from typing import Any, Callable, Iterable, Sequence

from cachetools import LRUCache

from kraken.adapters.redis import resp3_connection

log = logging.getLogger("kraken.tracking")

PING_EVERY_S = 1.0
DEAD_AFTER_S = 3.0
RETRY_MAX_S = 2.0
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class _Error(str):
    """A RESP error reply."""


class _Push(list):
    """A RESP3 push message (`>`)."""


def _parse(buf: bytearray, pos: int) -> tuple[Any, int] | None:
    """One RESP2/RESP3 value from buf[pos:] as (value, next position), or None when incomplete."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    kind, line, pos = buf[pos], bytes(buf[pos + 1:end]), end + 2
    if kind in b"+":
        return line.decode(), pos
    if kind in b"-!":
        return _Error(line.decode()), pos
    if kind in b":":
        return int(line), pos
    if kind in b"_":
        return None, pos
    if kind in b"#,(":
        return line.decode(), pos
    if kind in b"$=":
        size = int(line)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            return None
        return bytes(buf[pos:pos + size]), pos + size + 2
    if kind in b"*>~%|":
        count = int(line) * (2 if kind in b"%|" else 1)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            parsed = _parse(buf, pos)
            if parsed is None:
                return None
            item, pos = parsed
            items.append(item)
        return (_Push(items) if kind in b">" else items), pos
    raise ValueError(f"unexpected RESP type {chr(kind)!r}")


class _Stamps(LRUCache):
    """key → sequence number of its last invalidation, bounded; remembers the newest one it dropped."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.dropped = 0

    def popitem(self):
        key, seq = super().popitem()
        self.dropped = max(self.dropped, seq)
        return key, seq


class Ticket:
    __slots__ = ("epoch", "seq")

    def __init__(self, epoch: int, seq: int) -> None:
        self.epoch, self.seq = epoch, seq


class TrackedKeys:
    """Local copies of the Redis keys under `prefixes`; see the module docstring."""

    def __init__(self, prefixes: Sequence[str], maxsize: int = 100_000,
                 ping_every: float = PING_EVERY_S, dead_after: float = DEAD_AFTER_S,
                 name: str = "kraken-tracking") -> None:
        self.prefixes = tuple(prefixes)
        self.name = name  # the connection's CLIENT SETNAME
        self._maxsize = maxsize
        self._ping_every, self._dead_after = ping_every, dead_after
        self._lock = threading.Lock()
        self._url: str | Callable[[], str] | None = None
        self._pid = None
        self._runner: object | None = None  # the running reader's token; it stops when replaced
        # name → hook, run by the reader (outside the lock) each time the connection turns live,
        # the first time included: work left over from a Redis outage (kraken.auth, permcache, recent)
        self.on_live: dict[str, Callable[[], None]] = {}
        self._reset()

    def _reset(self) -> None:
        self._values: LRUCache = LRUCache(self._maxsize)
        # invalidations come for every key under the prefixes, held or not: remember plenty (small
        # entries), since a put whose read may have overlapped a forgotten one is refused
        self._stamps = _Stamps(max(self._maxsize, 16384))
        self._seq = 0
        self._flushed = 0      # seq of the last flush: nothing read before it is kept
        self._epoch = 0        # one per connection: a ticket of another one is void
        self._live = False     # tracking is on, and the connection answered within DEAD_AFTER_S
        self._sock = self._conn = None
        self._buf = bytearray()
        self._heard = 0.0
        self._enabling = False
        self._went_live = False
        self.refused: str | None = None  # why Redis refused to track, if it did

    # --- configuration ---------------------------------------------------------------------

    def configure(self, redis_url: str | Callable[[], str] | None) -> None:
        """Track keys through the Redis at redis_url, or at the URL the callable gives at each connect
        (the current master behind Sentinel); None: hold nothing. Started lazily, per process."""
        self.stop()
        with self._lock:
            self._url, self._pid = redis_url, None

    def stop(self) -> None:
        """Stop reading and hold nothing (the reader exits within PING_EVERY_S)."""
        with self._lock:
            self._runner = None
            self._drop_connection_locked(None)

    def _ensure_started(self) -> None:
        if self._pid == os.getpid() or self._url is None:
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._reset()  # a forked child starts empty, with a connection of its own
            self._pid = os.getpid()
            self._runner = runner = object()
            thread = threading.Thread(target=self._run, args=(runner,), name="kraken-tracking", daemon=True)
        thread.start()

    # --- the callers' side -------------------------------------------------------------------

    def get(self, keys: Iterable[str]) -> list | None:
        """The local values of all `keys`, or None when one is not held (or tracking is not live)."""
        self._ensure_started()
        if not self._live:
            return None
        with self._lock:
            self._drain_locked()
            if not self._trusted_locked():
                return None
            values = self._values
            out = []
            for key in keys:
                value = values.get(key, _MISSING)
                if value is _MISSING:
                    return None
                out.append(value)
            return out

    def ticket(self) -> Ticket | None:
        """Take before reading keys from Redis; give to `put` with what was read."""
        self._ensure_started()
        if not self._live:
            return None
        with self._lock:
            self._drain_locked()
            return Ticket(self._epoch, self._seq) if self._trusted_locked() else None

    def put(self, ticket: Ticket | None, values: dict[str, Any]) -> None:
        """Hold the values read after `ticket`, except those that an invalidation may have overtaken."""
        if ticket is None:
            return
        with self._lock:
            self._drain_locked()
            if ticket.epoch != self._epoch or not self._trusted_locked():
                return
            seq = ticket.seq
            if self._flushed > seq or self._stamps.dropped > seq:
                return
            stamps = self._stamps
            for key, value in values.items():
                if stamps.get(key, 0) <= seq and key.startswith(self.prefixes):
                    self._values[key] = value

    def _trusted_locked(self) -> bool:
        """Live, and heard from recently (a reader starved of CPU must not leave copies trusted)."""
        return self._live and time.monotonic() - self._heard <= self._dead_after

    def held(self) -> int:
        """How many keys are held."""
        return len(self._values)

    @property
    def live(self) -> bool:
        return self._live

    def wait_live(self, timeout: float) -> bool:
        """Start tracking in this process if need be, and wait up to `timeout` for it (operator checks)."""
        self._ensure_started()
        deadline = time.monotonic() + timeout
        while not self._live and self.refused is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return self._live

    # --- the connection ------------------------------------------------------------------------

    def _run(self, runner: object) -> None:
        delay = 0.1
        while self._runner is runner:
            try:
                sock = self._connect(runner)
            except Exception as exc:  # Redis down or refusing: hold nothing, retry
                log.debug("tracking connection failed: %s", exc)
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            delay = 0.1
            self._serve(sock, runner)

    def _connect(self, runner: object):
        # HELLO 3, AUTH, SELECT: nothing is tracked yet, so nothing else can arrive
        url = self._url() if callable(self._url) else self._url
        conn, sock = resp3_connection(url, name=self.name)
        sock.setblocking(False)
        command = ["CLIENT", "TRACKING", "ON", "BCAST", *[a for p in self.prefixes for a in ("PREFIX", p)]]
        with self._lock:
            if self._runner is not runner:
                sock.close()
                raise ConnectionError("stopped")
            self._sock, self._conn, self._buf = sock, conn, bytearray()
            self._enabling = True
            self._heard = time.monotonic()
            self._send_locked(command)
        return sock

    def _serve(self, sock, runner: object) -> None:
        pinged = 0.0
        while self._sock is sock and self._runner is runner:
            try:
                readable, _, _ = select.select([sock], [], [], self._ping_every)
            except (OSError, ValueError):
                readable = None
            with self._lock:
                if self._sock is not sock:
                    return
                if readable is None:
                    self._drop_connection_locked("select failed")
                    return
                self._drain_locked()
                now = time.monotonic()
                if self._sock is sock and now - self._heard > self._dead_after:
                    self._drop_connection_locked(f"silent for {now - self._heard:.1f} s")
                    return
                if self._sock is sock and now - pinged >= self._ping_every:
                    pinged = now
                    self._send_locked(["PING"])
                went_live, self._went_live = self._went_live, False
            for name, hook in list(self.on_live.items()) if went_live else ():
                try:
                    hook()
                except Exception:
                    log.exception("on_live hook %s failed", name)

    def _send_locked(self, args: list[str]) -> None:
        data = f"*{len(args)}\r\n".encode() + b"".join(
            b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
        try:
            self._sock.sendall(data)
        except (OSError, ValueError) as exc:
            self._drop_connection_locked(f"send failed: {exc}")

    def _drain_locked(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                chunk = sock.recv(65536)
            except _WOULD_BLOCK:
                break
            except (OSError, ValueError) as exc:
                self._drop_connection_locked(f"recv failed: {exc}")
                return
            if not chunk:
                self._drop_connection_locked("closed by Redis")
                return
            self._buf += chunk  # and read on until it would block (a TLS socket may hold more)
        pos, buf = 0, self._buf
        while pos < len(buf):
            try:
                parsed = _parse(buf, pos)
            except ValueError as exc:
                self._drop_connection_locked(str(exc))
                return
            if parsed is None:
                break
            frame, pos = parsed
            self._apply_locked(frame)
            if self._sock is not sock:
                return
        del buf[:pos]

    def _apply_locked(self, frame: Any) -> None:
        self._heard = time.monotonic()
        if isinstance(frame, _Push):
            if frame and frame[0] == b"invalidate":
                self._invalidate_locked(frame[1] if len(frame) > 1 else None)
            return
        if isinstance(frame, _Error):
            if self._enabling:  # e.g. a Redis before 6.0: track nothing, and stop trying
                log.warning("Redis refused client tracking (%s); reading every key from Redis", frame)
                self._runner, self.refused = None, str(frame)
            self._drop_connection_locked(f"error reply: {frame}")
            return
        if self._enabling and frame == "OK":
            self._enabling = False
            self._epoch += 1
            self._flush_locked()
            self._live = self._went_live = True
            log.info("Redis tracking connection live", extra={"prefixes": list(self.prefixes)})

    def _invalidate_locked(self, keys) -> None:
        self._seq += 1
        if keys is None:  # FLUSHDB / FLUSHALL
            self._flush_locked()
            return
        values, stamps, seq = self._values, self._stamps, self._seq
        for key in keys:
            name = key.decode() if isinstance(key, bytes) else str(key)
            values.pop(name, None)
            stamps[name] = seq

    def _flush_locked(self) -> None:
        self._seq += 1
        self._flushed = self._seq
        self._values.clear()

    def _drop_connection_locked(self, why: str | None) -> None:
        """Hold nothing and close the connection; `why` (None: we stop) is logged if it was live."""
        was_live = self._live
        self._live = False
        self._epoch += 1
        self._flush_locked()
        sock, self._sock, self._conn = self._sock, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
        if was_live and why:
            log.warning("Redis tracking connection lost (%s); reading every key from Redis until it is back", why)


_MISSING = object()
