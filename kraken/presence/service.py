"""Presence across processes (docs/decisions/0015-presence.md).

Each socket has a key `kraken:presence:socket:<sid>` that its process refreshes
every HEARTBEAT seconds and that expires after TTL, so the sockets of a crashed
process go away by themselves. A user is online while they have a live socket:
`userOnline` goes out on the first, `userOffline` after the last (from the
disconnect, or from the sweeper for a crashed process), to the rooms of the
user's communities; `lastSeen` is written on going offline.

The last socket closing does not take the user offline at once: they are
"leaving" for GRACE seconds (a sorted set scored by deadline), and any process's
`settle` step takes them offline after it unless a socket came back. So a
network blip or a server restart (every socket reconnecting) announces nothing,
instead of a userOffline and a userOnline per user to every member of their
communities.
"""
from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from kraken import dependents, domain
from kraken.common.time import utcnow
from kraken.extensions import redis
from kraken.memberships.models import Membership
from kraken.realtime import background, names, sockets
from kraken.realtime.publish import publish
from kraken.realtime.rooms import community_room
from kraken.users.models import User

log = logging.getLogger("kraken.presence")
SOCKET_KEY = "kraken:presence:socket:"
ONLINE = "kraken:presence:online"
LEAVING = "kraken:presence:leaving"
SWEEP_LOCK = "kraken:presence:sweep-lock"
TTL = 30  # replaced by settings.presence_ttl in configure()
HEARTBEAT = 10
GRACE = 10.0  # replaced by settings.presence_grace in configure()
SHUTDOWN_GRACE_FACTOR = 3
SETTLE_SECONDS = 0.5
HEARTBEAT_TASK, SETTLE_TASK = "presence-heartbeat", "presence-settle"

_local: dict[str, str] = {}  # sid -> user id, for this process's heartbeat

# Atomically add a live socket; returns 1 when the user was not online (announce it), else 0.
_CONNECT = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[2], 86400)
redis.call('ZREM', KEYS[4], ARGV[1])
return redis.call('SADD', KEYS[3], ARGV[1])
"""
# Remove a socket; returns how many remain. At 0 the user starts leaving (deadline ARGV[3]), or, with
# no grace (ARGV[3] empty), goes offline now: -1 tells the caller it already happened elsewhere.
_DISCONNECT = """
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[2])
local left = redis.call('HLEN', KEYS[2])
if left == 0 then
  if ARGV[3] ~= '' then
    redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
    return -1
  end
  if redis.call('SREM', KEYS[3], ARGV[1]) == 0 then return -1 end
end
return left
"""
# A leaving user whose grace is over goes offline (1) unless a socket came back (0); exactly once.
_SETTLE = """
if redis.call('ZREM', KEYS[3], ARGV[1]) == 0 then return 0 end
if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
return redis.call('SREM', KEYS[2], ARGV[1])
"""
# A user with no live socket left who is not leaving (their process died) goes offline (1); exactly once.
_SWEEP_ONE = """
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
return redis.call('SREM', KEYS[2], ARGV[1])
"""


def configure(ttl: int, grace: float = 0) -> None:
    global TTL, HEARTBEAT, GRACE
    TTL, HEARTBEAT, GRACE = ttl, max(1, ttl // 3), grace


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
    rooms = [community_room(c) for c in Membership.objects(user_id=user.id).scalar("community_id")]
    if rooms:
        publish(event, {"userId": str(user.id), "username": user.username, "displayName": user.display_name,
                        "avatarUrl": user.avatar_url}, rooms)


def connected(user, sid: str, session_id: str | None) -> None:
    uid = str(user.id)
    _local[sid] = uid
    background.start(HEARTBEAT_TASK, SETTLE_TASK)
    # (No pruning of a crashed process's sockets here: whether the user comes online depends on the
    # ONLINE set alone, and the sweeper prunes; it saves two round trips per connect.)
    try:
        came_online = redis.eval(_CONNECT, 4, SOCKET_KEY + sid, sockets.USER_SOCKETS + uid, ONLINE, LEAVING,
                                 uid, sid, TTL, session_id or "")
    except RedisError:
        log.warning("presence unavailable", extra={"user_id": uid})
        return
    if came_online == 1:
        _announce(user, names.USER_ONLINE)


def disconnected(user, sid: str, shutting_down: bool = False) -> None:
    """A socket closed. `shutting_down`: this process closed it on SIGTERM, and its clients are
    reconnecting in a crowd; the grace is SHUTDOWN_GRACE_FACTOR times longer so a restart
    announces nothing."""
    uid = str(user.id)
    _local.pop(sid, None)
    grace = GRACE * (SHUTDOWN_GRACE_FACTOR if shutting_down else 1)
    deadline = f"{time.time() + grace:.3f}" if grace > 0 else ""
    try:
        left = redis.eval(_DISCONNECT, 4, SOCKET_KEY + sid, sockets.USER_SOCKETS + uid, ONLINE, LEAVING,
                          uid, sid, deadline)
    except RedisError:
        return
    if left == 0:
        _went_offline(user)


def settle() -> int:
    """Take offline the leaving users whose grace is over and who did not come back; returns how many."""
    return sum(_take_offline(uid) for uid in redis.zrangebyscore(LEAVING, "-inf", time.time())
               if redis.eval(_SETTLE, 3, sockets.USER_SOCKETS + uid, ONLINE, LEAVING, uid) == 1)


def _take_offline(uid: str) -> bool:
    """Announce a user Redis has just taken offline, and run the disconnect hooks for them."""
    user = User.objects(id=uid).first()
    if user is None:
        return False
    _went_offline(user)
    # Now that the user is offline: the reactions never ran for sockets of a process that died, and at
    # a graceful disconnect they saw the user still online (leaving) and kept their state (voice).
    domain.socket_closed.send(user, sid=None)
    return True


def _went_offline(user) -> None:
    User.objects(id=user.id).update_one(set__last_seen=utcnow())
    dependents.wrote(User, id=user.id)
    _announce(user, names.USER_OFFLINE)


def _user_removing(user) -> None:
    """A deleted account goes offline at once, announced to its communities while it still has them:
    its sockets, closed by the deletion, then find it gone from the online set and announce nothing
    (nor could they after: their user and memberships are gone)."""
    uid = str(user.id)
    try:
        pipe = redis.pipeline(transaction=True)
        pipe.srem(ONLINE, uid)
        pipe.zrem(LEAVING, uid)
        was_online, _ = pipe.execute()
    except RedisError:
        return  # its sockets' disconnect or the sweep take it out of the set later, unannounced
    if was_online:
        _announce(user, names.USER_OFFLINE)


def heartbeat(sid: str) -> None:
    """Refresh one socket's liveness (presenceOnline, and this process's timer)."""
    try:
        redis.expire(SOCKET_KEY + sid, TTL)
    except RedisError:
        pass


def is_online(user_id: str) -> bool:
    """A live socket, or leaving within the grace (no userOffline was announced yet)."""
    try:
        _prune(user_id)
        return bool(redis.hlen(sockets.USER_SOCKETS + user_id)) or redis.zscore(LEAVING, user_id) is not None
    except RedisError:
        return False


def has_live_socket(user_id: str) -> bool:
    """At least one socket of the user is alive now (its heartbeat key is there): the user is at a
    client (web push holds back). Unlike `is_online`, a user within the grace after their last socket
    closed has none. False when Redis cannot say (a push too many beats a missed one)."""
    try:
        sids = sockets.of_user(user_id)
        return bool(sids) and any(value is not None for value in redis.mget([SOCKET_KEY + sid for sid in sids]))
    except RedisError:
        return False


def online_users() -> list[str]:
    """Every online user of the instance (`GET /api/presence/users/bulk`): the ONLINE set, which holds a
    user from their first socket until `userOffline` is announced (after the grace, or by the sweep for a
    process that died), so it agrees with `is_online` and with the events. One SMEMBERS."""
    try:
        return sorted(redis.smembers(ONLINE))
    except RedisError:
        return []


def sweep() -> int:
    """Take offline the users whose sockets all expired (their process died); returns how many."""
    if not redis.set(SWEEP_LOCK, "1", nx=True, ex=HEARTBEAT):
        return 0
    gone = 0
    for uid in redis.smembers(ONLINE):
        _prune(uid)
        if redis.eval(_SWEEP_ONE, 3, sockets.USER_SOCKETS + uid, ONLINE, LEAVING, uid) == 1:
            gone += _take_offline(uid)
    return gone


def _beat() -> None:
    """Refresh this process's sockets, then take the users of dead processes offline."""
    if _local:
        pipe = redis.pipeline(transaction=False)
        for sid in list(_local):
            pipe.expire(SOCKET_KEY + sid, TTL)
        pipe.execute()
    sweep()


def init_app() -> None:
    domain.connect(domain.user_removing, _user_removing)


def declare_tasks() -> None:
    """Called by the app factory: this process's sockets' heartbeat (and the sweep of dead processes'
    users), and taking offline the users whose grace ended."""
    background.declare(HEARTBEAT_TASK, lambda: HEARTBEAT, _beat)
    background.declare(SETTLE_TASK, lambda: SETTLE_SECONDS, settle)
