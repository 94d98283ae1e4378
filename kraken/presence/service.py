"""Presence across processes (decisions §5).

Each socket has a key `kraken:presence:socket:<sid>` that its process refreshes
every HEARTBEAT seconds and that expires after TTL, so the sockets of a crashed
process go away by themselves. A user is online while they have a live socket:
`userOnline` goes out on the first, `userOffline` after the last (from the
disconnect, or from the sweeper for a crashed process), to the rooms of the
user's communities; `lastSeen` is written on going offline.
"""
from __future__ import annotations

import logging

from redis.exceptions import RedisError

from kraken.common.time import utcnow
from kraken.extensions import redis
from kraken.realtime import names, sockets
from kraken.realtime.background import every
from kraken.realtime.publish import publish
from kraken.realtime.rooms import community_room

log = logging.getLogger("kraken.presence")
SOCKET_KEY = "kraken:presence:socket:"
ONLINE = "kraken:presence:online"
SWEEP_LOCK = "kraken:presence:sweep-lock"
TTL = 30  # replaced by settings.presence_ttl in configure()
HEARTBEAT = 10

_local: dict[str, str] = {}  # sid -> user id, for this process's heartbeat

# Atomically add a live socket; returns how many live sockets the user now has.
_CONNECT = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[2], 86400)
redis.call('SADD', KEYS[3], ARGV[1])
return redis.call('HLEN', KEYS[2])
"""
# Remove a socket; returns how many remain (the user goes offline at 0, exactly once).
_DISCONNECT = """
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[2])
local left = redis.call('HLEN', KEYS[2])
if left == 0 then
  if redis.call('SREM', KEYS[3], ARGV[1]) == 0 then return -1 end
end
return left
"""


def configure(ttl: int) -> None:
    global TTL, HEARTBEAT
    TTL, HEARTBEAT = ttl, max(1, ttl // 3)


def _prune(user_id: str) -> None:
    """Forget sockets of this user whose heartbeat key expired (a crashed process)."""
    sids = sockets.of_user(user_id)
    if not sids:
        return
    alive = redis.mget([SOCKET_KEY + sid for sid in sids])
    dead = [sid for sid, value in zip(sids, alive) if value is None]
    if dead:
        redis.hdel(sockets.USER_SOCKETS + user_id, *dead)


def _announce(user, event: str) -> None:
    from kraken.memberships.models import Membership
    rooms = [community_room(c) for c in Membership.objects(user_id=user.id).scalar("community_id")]
    if rooms:
        publish(event, {"userId": str(user.id), "username": user.username, "displayName": user.display_name,
                        "avatarUrl": user.avatar_url}, rooms)


def connected(user, sid: str, session_id: str | None) -> None:
    uid = str(user.id)
    _local[sid] = uid
    _ensure_heartbeat()
    try:
        _prune(uid)
        count = redis.eval(_CONNECT, 3, SOCKET_KEY + sid, sockets.USER_SOCKETS + uid, ONLINE, uid, sid, TTL,
                           session_id or "")
    except RedisError:
        log.warning("presence unavailable", extra={"user_id": uid})
        return
    if count == 1:
        _announce(user, names.USER_ONLINE)


def disconnected(user, sid: str) -> None:
    uid = str(user.id)
    _local.pop(sid, None)
    try:
        left = redis.eval(_DISCONNECT, 3, SOCKET_KEY + sid, sockets.USER_SOCKETS + uid, ONLINE, uid, sid)
    except RedisError:
        return
    if left == 0:
        _went_offline(user)


def _went_offline(user) -> None:
    from kraken.users.models import User
    User.objects(id=user.id).update_one(set__last_seen=utcnow())
    from kraken.users.service import changed
    changed(user.id)
    _announce(user, names.USER_OFFLINE)


def heartbeat(sid: str) -> None:
    """Refresh one socket's liveness (presenceOnline, and this process's timer)."""
    try:
        redis.expire(SOCKET_KEY + sid, TTL)
    except RedisError:
        pass


def is_online(user_id: str) -> bool:
    try:
        _prune(user_id)
        return bool(redis.hlen(sockets.USER_SOCKETS + user_id))
    except RedisError:
        return False


def sweep() -> int:
    """Take offline the users whose sockets all expired (their process died); returns how many."""
    from kraken.users.models import User
    if not redis.set(SWEEP_LOCK, "1", nx=True, ex=HEARTBEAT):
        return 0
    gone = 0
    for uid in redis.smembers(ONLINE):
        _prune(uid)
        if redis.hlen(sockets.USER_SOCKETS + uid) == 0 and redis.srem(ONLINE, uid):
            user = User.objects(id=uid).first()
            if user is not None:
                _went_offline(user)
                _after_crash(user)
                gone += 1
    return gone


def _after_crash(user) -> None:
    """The disconnect hooks never ran for sockets of a process that died; run them now."""
    from kraken.realtime.connection import DISCONNECT_HOOKS
    for hook in DISCONNECT_HOOKS:
        hook(user, None)


def _beat() -> None:
    """Refresh this process's sockets, then take the users of dead processes offline."""
    if _local:
        pipe = redis.pipeline(transaction=False)
        for sid in list(_local):
            pipe.expire(SOCKET_KEY + sid, TTL)
        pipe.execute()
    sweep()


def _ensure_heartbeat() -> None:
    every("presence-heartbeat", lambda: HEARTBEAT, _beat)
