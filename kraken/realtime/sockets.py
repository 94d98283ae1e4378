"""Which sockets a user has open, across every process: a Redis hash per user (sid → session id).

Presence (kraken.presence) keeps one short-lived key per socket beside it, so the
sockets of a crashed process expire on their own.
"""
from __future__ import annotations

import logging

from redis.exceptions import RedisError

from kraken.extensions import redis

log = logging.getLogger("kraken.realtime")
USER_SOCKETS = "kraken:sockets:user:"
TTL_SECONDS = 24 * 3600


def add(user_id: str, sid: str, session_id: str | None) -> None:
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.hset(USER_SOCKETS + user_id, sid, session_id or "")
        pipe.expire(USER_SOCKETS + user_id, TTL_SECONDS)
        pipe.execute()
    except RedisError:
        log.warning("could not record a socket", extra={"user_id": user_id})


def remove(user_id: str, sid: str) -> None:
    try:
        redis.hdel(USER_SOCKETS + user_id, sid)
    except RedisError:
        pass


def of_user(user_id: str, session_id: str | None = None, except_session: str | None = None) -> list[str]:
    """The user's socket ids, optionally only those of one session or all but one."""
    try:
        entries = redis.hgetall(USER_SOCKETS + user_id)
    except RedisError:
        return []
    return sorted(sid for sid, sess in entries.items()
                  if (session_id is None or sess == session_id) and (except_session is None or sess != except_session))
