"""Process-local copies of documents that hot paths read on every request or event.

A copy is trusted only while the Redis generation of its scope is the one it was
stamped with (kraken.permcache: every write of a community's channels, the
community itself or a user bumps that scope's generation after its database
write). The generation comes from this process's tracked copy of its Redis key
(kraken.tracking) or from the round trip the caller makes anyway (the permission
lookup, the token check), and it is always read *before*
the database read whose result gets stamped with it; so a copy older than a
write is never trusted, in any process. Without Redis nothing is trusted and
every read goes to the database.

Copies are shared by the greenlets of a process: callers must not change them
in place except by `reload()` (which only makes them newer).
"""
from __future__ import annotations

from typing import Callable, Generic, Hashable, TypeVar

from cachetools import LRUCache

T = TypeVar("T")


class StampedCache(Generic[T]):
    """key → (generation, value); a bounded LRU per process."""

    def __init__(self, maxsize: int) -> None:
        self._items: LRUCache = LRUCache(maxsize)

    def peek(self, key: Hashable) -> tuple[str | None, T] | None:
        """(stamp, value) remembered for key; the value is a hint until its stamp is checked."""
        return self._items.get(key)

    def get(self, key: Hashable, generation: str | None) -> T | None:
        entry = self._items.get(key)
        return entry[1] if entry is not None and generation is not None and entry[0] == generation else None

    def put(self, key: Hashable, generation: str | None, value: T) -> T:
        """Remember value; with generation None it is kept as an unverified hint only."""
        self._items[key] = (generation, value)
        return value

    def forget(self, key: Hashable) -> None:
        self._items.pop(key, None)

    def resolve(self, key: Hashable, generation: str | None, fetch: Callable[[], T | None]) -> T | None:
        """The trusted copy, else fetch() (which must read the database *after* generation was read)."""
        value = self.get(key, generation)
        if value is not None:
            return value
        value = fetch()
        if value is None:
            self.forget(key)
        else:
            self.put(key, generation, value)
        return value

