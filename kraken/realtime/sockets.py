"""Which sockets a user has open, across every process (a Redis set per user)."""
from __future__ import annotations

import logging

from redis.exceptions import RedisError

from kraken.extensions import redis

log = logging.getLogger("kraken.realtime")
_KEY = "kraken:sockets:user:"
TTL_SECONDS = 24 * 3600


def add(user_id: str, sid: str) -> None:
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.sadd(_KEY + user_id, sid)
        pipe.expire(_KEY + user_id, TTL_SECONDS)
        pipe.execute()
    except RedisError:
        log.warning("could not record a socket", extra={"user_id": user_id})


def remove(user_id: str, sid: str) -> None:
    try:
        redis.srem(_KEY + user_id, sid)
    except RedisError:
        pass


def of_user(user_id: str) -> list[str]:
    try:
        return sorted(redis.smembers(_KEY + user_id))
    except RedisError:
        return []
