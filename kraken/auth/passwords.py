"""Password hashing with argon2id (no 72-byte truncation, docs/decisions/0007-argon2id-passwords.md)."""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from gevent import get_hub, monkey

from kraken import extensions


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def hasher() -> PasswordHasher:
    settings = extensions.settings()
    return _hasher(settings.argon2_memory_kib, settings.argon2_time_cost)


def _off_the_hub(fn, *args):
    """argon2 spends ~40 ms of CPU per call and releases the GIL: under gevent, run it in the hub's
    thread pool so one login does not stall every socket and request of the process."""
    if monkey.is_module_patched("socket"):
        return get_hub().threadpool.apply(fn, args)
    return fn(*args)


def hash_password(password: str) -> str:
    return _off_the_hub(hasher().hash, password)


def _matches(h: PasswordHasher, hashed: str, password: str) -> bool:
    # A mismatch is an answer, not an error: caught where it is raised, because an exception leaving
    # a function run in gevent's thread pool is printed with its traceback (13 lines per failed login).
    try:
        return h.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(hashed: str | None, password: str) -> bool:
    """True when `password` matches; with `hashed=None` it still spends the same time."""
    h = hasher()
    return _off_the_hub(_matches, h, hashed or _dummy_hash(h), password) and hashed is not None


def _dummy_hash(h: PasswordHasher) -> str:
    key = (h.memory_cost, h.time_cost)
    if key not in _DUMMY:
        _DUMMY[key] = h.hash("kraken-timing-equaliser")
    return _DUMMY[key]


_DUMMY: dict[tuple[int, int], str] = {}
