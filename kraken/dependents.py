"""What each cache depends on, and the one path by which a write of data reaches the caches.

A cache declares, next to itself, which documents its facts are computed from and how a write
of one makes them stale (kraken.permcache, kraken.messages.recent):

    dependents.depends(Channel, lambda channel: [str(channel.community_id)], invalidate)

`keys(document)` names what the write touched (a scope, a channel); `apply(keys)` makes those
facts stale, in one Redis round trip for all the keys of one write. A service writes data and
never names a cache:

- `Document.save()` (every creation, the few whole-document saves) is heard by itself:
  `depends` connects MongoEngine's `post_save` signal for the class;
- the atomic QuerySet writes (`update_one`, `delete`, `update`) send no signal, so the service
  says what it wrote right after it: `dependents.wrote(channel)` for a document it holds, or
  `dependents.wrote(ChannelMembership, community_id=cid)` for a bulk write, naming the fields its
  query fixed (a dependent whose key needs a field that was not named raises at once, in tests).
  There is deliberately no `post_delete` receiver: MongoEngine would turn every
  `QuerySet.delete()` of that class into one delete per document.

One mechanism redoes what could not reach Redis: an `apply` that fails with a RedisError (Redis
away) keeps its keys here, and they are applied again when Redis is back (this process's Redis
connection turns live again, kraken.tracking) — Redis may come back *with* its data (an
append-only file) and would otherwise keep serving what the write made stale. They are also tried
again every RETRY_S meanwhile: a write can fail while that connection stays live (no free pooled
connection, a timeout under load), and then no reconnect would ever redo it. Work that has to be
redone whenever Redis returns, failed or not (revocation markers rebuilt from the database,
kraken.auth), is registered with `when_redis_back`. Nothing else redoes a cache write (the
Socket.IO queue's outbox, kraken.realtime.queue, retries publishes: messages between processes).
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Callable, Hashable, Iterable

from mongoengine import signals
from redis.exceptions import RedisError

log = logging.getLogger("kraken.dependents")

Keys = Callable[[object], Iterable[Hashable]]
Apply = Callable[[set], None]

# document class -> [(keys, apply)], declared by the caches
_dependents: dict[type, list[tuple[Keys, Apply]]] = {}
# apply -> keys it could not reach (Redis away), applied again when Redis is back
_pending: dict[Apply, set] = {}
# name -> work run each time Redis is back
_on_back: dict[str, Callable[[], None]] = {}
_lock = threading.Lock()
RETRY_S = 1.0  # pending keys are tried again this often, by one thread (a greenlet under gevent)
_retrying = False
_batches = threading.local()  # per greenlet under gevent
# apply -> when it was first declared: one write reaches its dependents in declaration order (a
# derived document, kraken.channels.models, is rewritten before a cache generation moves)
_order: dict[Apply, int] = {}


def depends(document: type, keys: Keys, apply: Apply) -> None:
    """Declare that facts cached under `keys(doc)` are stale once a `document` is written."""
    first = document not in _dependents
    _dependents.setdefault(document, []).append((keys, apply))
    _order.setdefault(apply, len(_order))
    if first:
        signals.post_save.connect(_saved, sender=document, weak=False)


def _saved(sender, document, **_kwargs) -> None:
    wrote(document)


def wrote(*targets, **fields) -> None:
    """Tell the caches that depend on them that these documents were written (after the write).

    A target is a document (its fields name the keys) or a document class with `fields` (what a
    bulk write's query fixed, e.g. `community_id=...`); several classes may share the fields."""
    by_apply: dict[Apply, set] = {}
    for target in targets:
        if isinstance(target, type):
            model, document = target, SimpleNamespace(**fields)
        else:
            model, document = type(target), target
        for keys, apply in _dependents.get(model, ()):
            try:
                found = keys(document)
            except AttributeError as exc:
                raise TypeError(f"dependents.wrote({model.__name__}, ...) must name the field a cache "
                                f"depends on ({exc})") from None
            by_apply.setdefault(apply, set()).update(found)
    collecting = getattr(_batches, "open", None)
    for apply, keys in sorted(by_apply.items(), key=lambda item: _order[item[0]]):
        if collecting is not None:
            collecting.setdefault(apply, set()).update(keys)
        else:
            reach(apply, keys)


@contextmanager
def batch():
    """The writes reported inside reach their caches together at the end, one round trip per cache
    (a community's purge). Only for code that reads no cached fact its own writes make stale."""
    if getattr(_batches, "open", None) is not None:
        yield  # already inside one
        return
    _batches.open = collected = {}
    try:
        yield
    finally:
        _batches.open = None
        for apply, keys in sorted(collected.items(), key=lambda item: _order[item[0]]):
            reach(apply, keys)


def reach(apply: Apply, keys: Iterable[Hashable], announce: bool = True) -> None:
    """apply(keys) now; if Redis is away, keep the keys and apply them again when it is back."""
    global _retrying
    keys = set(keys)
    if not keys:
        return
    try:
        apply(keys)
    except RedisError as exc:
        with _lock:
            _pending.setdefault(apply, set()).update(keys)
            start, _retrying = not _retrying, True
        if start:
            threading.Thread(target=_retry, daemon=True, name="kraken-dependents-retry").start()
        if announce:
            log.warning("cache write failed; redone when Redis is back",
                        extra={"cache": getattr(apply, "__qualname__", str(apply)), "keys": len(keys),
                               "error_type": type(exc).__name__})


def _retry() -> None:
    """Apply the pending keys again every RETRY_S until none is left (a failure keeps them, quietly)."""
    global _retrying
    while True:
        time.sleep(RETRY_S)
        with _lock:
            waiting = list(_pending.items())
            _pending.clear()
            if not waiting:
                _retrying = False
                return
        for apply, keys in waiting:
            reach(apply, keys, announce=False)


def when_redis_back(name: str, work: Callable[[], None]) -> None:
    """Run `work()` each time this process's Redis connection turns live (the first time included)."""
    _on_back[name] = work


def pending() -> int:
    """How many keys wait for Redis."""
    with _lock:
        return sum(len(keys) for keys in _pending.values())


def redo() -> None:
    """Apply again what could not reach Redis, then the `when_redis_back` work; a write that fails
    again keeps its keys for the next time."""
    with _lock:
        waiting = list(_pending.items())
        _pending.clear()
    for apply, keys in waiting:
        reach(apply, keys)
    for name, work in list(_on_back.items()):
        try:
            work()
        except Exception:
            log.exception("work on Redis's return failed", extra={"work": name})


def init_app(redis) -> None:
    """Redo when `redis` (kraken.extensions.redis) is back: the one trigger, set by create_app."""
    redis.tracked.on_live["kraken.dependents"] = redo
