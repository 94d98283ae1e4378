"""Permission answers cached in Redis (decisions §8), per scope (a community or the instance).

Each scope has a hash `kraken:cache:perm:<scope>` (field = user id) and a
generation counter. A reader notes the generation *before* reading the
database and stores its answer only if the generation is unchanged; every
write path bumps the generation *after* its database write. So an answer
computed from data older than a revocation is never stored, and the next
request after a revocation recomputes: no stale "allowed", in any process.
Without Redis the answers are computed every time.
"""
from __future__ import annotations

import json
import logging
from typing import Callable

from redis.exceptions import RedisError

from kraken.extensions import redis

log = logging.getLogger("kraken.permcache")
PREFIX = "kraken:cache:"
TTL_SECONDS = 600
INSTANCE_SCOPE = "instance"

_STORE_IF_CURRENT = """
local gen = redis.call('GET', KEYS[1]) or '0'
if gen == ARGV[1] then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  return 1
end
return 0
"""


def _keys(scope: str) -> tuple[str, str]:
    return f"{PREFIX}permgen:{scope}", f"{PREFIX}perm:{scope}"


def cached(scope: str, user_id: str, compute: Callable[[], dict]) -> dict:
    """The cached answer for (scope, user), computing and storing it on a miss."""
    gen_key, hash_key = _keys(scope)
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.hget(hash_key, user_id)
        pipe.get(gen_key)
        hit, generation = pipe.execute()
    except RedisError:
        return compute()
    if hit is not None:
        return json.loads(hit)
    value = compute()
    try:
        redis.eval(_STORE_IF_CURRENT, 2, gen_key, hash_key, generation or "0", user_id,
                   json.dumps(value), TTL_SECONDS)
    except RedisError:
        pass
    return value


def invalidate(scope: str) -> None:
    """Forget every answer of `scope`; call after the database write that changed it."""
    gen_key, hash_key = _keys(scope)
    try:
        pipe = redis.pipeline(transaction=True)
        pipe.incr(gen_key)
        pipe.expire(gen_key, TTL_SECONDS * 2)
        pipe.delete(hash_key)
        pipe.execute()
    except RedisError:
        log.warning("permission cache invalidation failed", extra={"scope": scope})
