"""Permission answers cached in Redis (docs/decisions/0020-redis-caches.md), per scope (a community or the instance).

Each scope has a hash `kraken:cache:perm:<scope>` (field = user id) and a
generation counter. A reader notes the generation *before* reading the
database and stores its answer only if the generation is unchanged; every
write path bumps the generation *after* its database write. So an answer
computed from data older than a revocation is never stored, and the next
request after a revocation recomputes: no stale "allowed", in any process.
Without Redis the answers are computed every time.

Generations are unique tokens (never a counter that could come round again after
its key expired): a missing key is created with a fresh token, so a value
remembered against an older token can never match. `kraken.localcache` uses the
same generations to trust process-local copies of a community's documents.
"""
from __future__ import annotations

import json
import logging
import secrets
from typing import Callable

from redis.exceptions import RedisError

from kraken.extensions import redis
from kraken.localcache import StampedCache

log = logging.getLogger("kraken.permcache")
PREFIX = "kraken:cache:"
TTL_SECONDS = 600
GENERATION_TTL_SECONDS = 86400
INSTANCE_SCOPE = "instance"

_STORE_IF_CURRENT = """
local gen = redis.call('GET', KEYS[1])
if gen == ARGV[1] then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  return 1
end
return 0
"""


def _keys(scope: str) -> tuple[str, str]:
    return f"{PREFIX}permgen:{scope}", f"{PREFIX}perm:{scope}"


def _token() -> str:
    return secrets.token_hex(12)


def user_scope(user_id: object) -> str:
    """The scope of one user's own document (kraken.users keeps process-local copies under it)."""
    return f"user:{user_id}"


def generation_key(scope: str) -> str:
    """The Redis key of `scope`'s generation (kept per process while Redis tracks it)."""
    return _keys(scope)[0]


def queue_generation(pipe, scope: str) -> None:
    """Add reading `scope`'s generation to a caller's pipeline; it is the *last* result of the two added."""
    gen_key, _ = _keys(scope)
    pipe.set(gen_key, _token(), nx=True, ex=GENERATION_TTL_SECONDS)
    pipe.get(gen_key)


def generations(scopes: list[str]) -> dict[str, str | None]:
    """The current generation of each scope: held ones from this process, the rest in one round trip
    (None for all without Redis). Read before the database reads they stamp, as in `cached`."""
    tracked = redis.tracked
    out: dict[str, str | None] = {}
    missing = []
    for scope in scopes:
        held = tracked.get((generation_key(scope),))
        if held is not None:
            out[scope] = held[0]
        else:
            missing.append(scope)
    if missing:
        ticket = tracked.ticket()
        try:
            pipe = redis.pipeline(transaction=False)
            for scope in missing:
                queue_generation(pipe, scope)
            results = pipe.execute()
        except RedisError:
            return {scope: None for scope in scopes}
        read = dict(zip(missing, results[1::2]))
        tracked.put(ticket, {generation_key(scope): gen for scope, gen in read.items()})
        out.update(read)
    return out


# Answers this process read or computed, trusted while their scope's generation is the one they
# were read under: with the generation held locally (kraken.tracking), a warm check makes no round trip.
_answers: StampedCache = StampedCache(50000)


def cached(scope: str, user_id: str, compute: Callable[[], dict]) -> tuple[dict, str | None]:
    """(answer, generation) for (scope, user), computing and storing the answer on a miss.

    The generation was read before any database read this call makes; None without Redis.
    Callers must not change the answer in place (it is shared by the process's greenlets).
    """
    gen_key, hash_key = _keys(scope)
    tracked = redis.tracked
    held = tracked.get((gen_key,))
    if held is not None:
        answer = _answers.get((scope, user_id), held[0])
        if answer is not None:
            return answer, held[0]
    ticket = tracked.ticket()
    try:
        pipe = redis.pipeline(transaction=False)
        queue_generation(pipe, scope)  # the generation first: the answer read next is at least as new
        pipe.hget(hash_key, user_id)
        _, generation, hit = pipe.execute()
    except RedisError:
        return compute(), None
    tracked.put(ticket, {gen_key: generation})
    if hit is not None:
        value = json.loads(hit)
    else:
        value = compute()
        try:
            redis.eval(_STORE_IF_CURRENT, 2, gen_key, hash_key, generation, user_id, json.dumps(value), TTL_SECONDS)
        except RedisError:
            pass
    _answers.put((scope, user_id), generation, value)
    return value, generation


# Scopes whose invalidation failed (Redis away), invalidated again when Redis is back: it may come
# back *with* its data (an append-only file) and would otherwise trust the old generation.
_missed = redis.tracked.redo_when_back("permcache", lambda scopes: [invalidate(s) for s in scopes])


def invalidate(scope: str) -> None:
    """Forget every answer of `scope`; call after the database write that changed it."""
    gen_key, hash_key = _keys(scope)
    try:
        pipe = redis.pipeline(transaction=True)
        pipe.set(gen_key, _token(), ex=GENERATION_TTL_SECONDS)
        pipe.delete(hash_key)
        pipe.execute()
    except RedisError:
        _missed.add(scope)
        log.warning("permission cache invalidation failed; retried when Redis is back", extra={"scope": scope})
