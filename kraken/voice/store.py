"""Voice presence in Redis, shared by every process (docs/decisions/0019-voice-and-livekit.md).
No events here: see service.py.

Per channel a hash `kraken:voice:channel:<channelId>` maps user id → the
VoicePresenceUser JSON; beside each entry a key `kraken:voice:alive:<channelId>:<userId>`
carries the TTL (Redis 7.0 has no per-field expiry). An entry whose alive key
expired is stale: it is not listed, and whoever removes it from the hash (a
reader, the sweeper, a leave) reports it exactly once, so one `voiceChannelUserLeft`
goes out. A set per user (`kraken:voice:user:<userId>`) answers "where am I" and a
set of channels with entries (`kraken:voice:channels`) lets the sweeper work
without KEYS.
"""
from __future__ import annotations

import json
from kraken.extensions import redis

PREFIX = "kraken:voice:"
CHANNELS = PREFIX + "channels"
SWEEP_LOCK = PREFIX + "sweep-lock"
FLAGS = ("isVideoEnabled", "isScreenSharing", "isMuted", "isDeafened")

# (Re)register; returns 1 when the user was not (live) present, 0 when only the TTL was refreshed.
_JOIN = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[4])
return 1
"""
# Remove an entry (live or stale); returns its JSON when this call removed it.
_LEAVE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
if raw then redis.call('HDEL', KEYS[1], ARGV[1]) end
return raw
"""
# Remove an entry only if it is stale; returns its JSON when this call removed it.
_PRUNE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  redis.call('SREM', KEYS[3], ARGV[2])
  return false
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[2])
return raw
"""
# Merge boolean flags into a live entry and refresh its TTL; returns the new JSON, or nil if absent.
_UPDATE = """
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local entry = cjson.decode(raw)
for i = 3, #ARGV, 2 do entry[ARGV[i]] = (ARGV[i + 1] == '1') end
raw = cjson.encode(entry)
redis.call('HSET', KEYS[1], ARGV[1], raw)
redis.call('EXPIRE', KEYS[2], ARGV[2])
return raw
"""
# Forget a channel with no entries left (the sweeper); atomic against a concurrent join.
_FORGET_IF_EMPTY = """
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) return 1 end
return 0
"""


def _channel(cid: str) -> str:
    return f"{PREFIX}channel:{cid}"


def _alive(cid: str, uid: str) -> str:
    return f"{PREFIX}alive:{cid}:{uid}"


def _user(uid: str) -> str:
    return f"{PREFIX}user:{uid}"


def _decode(raw: str | None) -> dict | None:
    return json.loads(raw) if raw else None


def add(cid: str, uid: str, entry: dict, ttl: int) -> bool:
    """Register `entry` for (channel, user); False when it was already live (TTL refreshed only)."""
    return bool(redis.eval(_JOIN, 4, _channel(cid), _alive(cid, uid), _user(uid), CHANNELS,
                           uid, json.dumps(entry, separators=(",", ":")), ttl, cid))


def remove(cid: str, uid: str) -> dict | None:
    """Remove the entry; returns it when this call removed it (the caller announces it)."""
    return _decode(redis.eval(_LEAVE, 3, _channel(cid), _alive(cid, uid), _user(uid), uid, cid))


def prune(cid: str, uid: str) -> dict | None:
    """Remove the entry if its TTL ran out; returns it when this call removed it."""
    return _decode(redis.eval(_PRUNE, 3, _channel(cid), _alive(cid, uid), _user(uid), uid, cid))


def update(cid: str, uid: str, flags: dict[str, bool], ttl: int) -> dict | None:
    """Merge boolean `flags` (keys of FLAGS only) into a live entry; None when the user is not present."""
    args: list[object] = [uid, ttl]
    for name, value in flags.items():
        if name in FLAGS:
            args += [name, "1" if value else "0"]
    return _decode(redis.eval(_UPDATE, 2, _channel(cid), _alive(cid, uid), *args))


def refresh(cid: str, uid: str, ttl: int) -> bool:
    """Extend a live entry's TTL; False when there is none."""
    return bool(redis.expire(_alive(cid, uid), ttl))


def entries(cid: str) -> tuple[list[dict], list[str]]:
    """(live entries, user ids of stale ones) of a channel."""
    raw = redis.hgetall(_channel(cid))
    if not raw:
        return [], []
    uids = list(raw)
    alive = redis.mget([_alive(cid, uid) for uid in uids])
    live = [json.loads(raw[uid]) for uid, flag in zip(uids, alive) if flag is not None]
    return live, [uid for uid, flag in zip(uids, alive) if flag is None]


def user_ids(cid: str) -> list[str]:
    """Every user id with an entry (live or stale) in the channel."""
    return list(redis.hkeys(_channel(cid)))


def channels_of(uid: str) -> tuple[list[str], list[str]]:
    """(channel ids where the user is live, channel ids whose entry is stale or gone)."""
    cids = sorted(redis.smembers(_user(uid)))
    if not cids:
        return [], []
    alive = redis.mget([_alive(cid, uid) for cid in cids])
    return ([cid for cid, flag in zip(cids, alive) if flag is not None],
            [cid for cid, flag in zip(cids, alive) if flag is None])


def channels_with_entries() -> list[str]:
    return list(redis.smembers(CHANNELS))


def forget_if_empty(cid: str) -> None:
    redis.eval(_FORGET_IF_EMPTY, 2, _channel(cid), CHANNELS, cid)


def take_sweep_lock(ttl: int, seconds: int) -> bool:
    """One sweep per interval across the processes that share a TTL setting."""
    return bool(redis.set(f"{SWEEP_LOCK}:{ttl}", "1", nx=True, ex=max(1, seconds)))
