"""Documents by a list of ids, one `_id` equality each, a few at a time.

The default store (FerretDB 1.24 on PostgreSQL, README "Storage") sends only equality filters to SQL:
an `{_id: {$in: [...]}}` reads the whole collection, while each `{_id: x}` is one index look-up. MongoDB
answers both from the `_id` index. Use this for the short id lists of hot paths (a user's roles or
communities). Look-ups of more than two ids run `PARALLEL` at a time (20 communities: ~34 → ~14 ms
p50 on the default store, measured with 20 random `_id` reads of a 2,000-document collection); under
gunicorn's gevent worker the pool's threads are greenlets (threading is patched before the pool exists:
it is made by the first look-up of each process).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

T, R = TypeVar("T"), TypeVar("R")
PARALLEL = 8
_pools: dict[int, ThreadPoolExecutor] = {}
_made = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    pid = os.getpid()  # a forked process makes its own (a pool's threads do not survive a fork)
    pool = _pools.get(pid)
    if pool is None:
        with _made:
            pool = _pools.setdefault(pid, ThreadPoolExecutor(PARALLEL, thread_name_prefix="kraken-by-ids"))
    return pool


def each(lookup: Callable[[T], R], keys: list[T]) -> list[R]:
    """`lookup(key)` for every key, in the keys' order: more than two run PARALLEL at a time."""
    return list(map(lookup, keys) if len(keys) <= 2 else _pool().map(lookup, keys))


def by_ids(document, ids: Iterable, field: str | None = None) -> list:
    """The documents (or one field of each) with these ids, in the ids' order; missing ones are skipped."""
    def one(oid):
        query = document.objects(id=oid)
        return query.scalar(field).first() if field else query.first()

    return [f for f in each(one, list(dict.fromkeys(ids))) if f is not None]  # each id once, in order
