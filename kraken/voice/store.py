"""Voice presence in Redis, shared by every process (docs/decisions/0019-voice-and-livekit.md).
No events here: see service.py.

Two stores of the same layout: voice channels (`CHANNELS`) and DM calls (`DM_CALLS`,
docs/decisions/0048-dm-calls.md). Per room (a channel or a DM group) a hash
`<prefix><kind>:<roomId>` maps user id → the VoicePresenceUser JSON; beside each entry a key
`<prefix>alive:<roomId>:<userId>` carries the TTL (Redis 7.0 has no per-field expiry). An entry
whose alive key expired is stale: it is not listed, and whoever removes it from the hash (a
reader, the sweeper, a leave) reports it exactly once, so one "left" event goes out. A set per
user (`<prefix>user:<userId>`) answers "where am I" and a set of rooms with entries
(`<prefix><kind>s`) lets the sweeper work without KEYS. Channel keys start `kraken:voice:`,
DM-call keys `kraken:dmvoice:`.
"""
from __future__ import annotations

import json
from kraken.extensions import redis

PREFIX = "kraken:voice:"
SWEEP_LOCK = PREFIX + "sweep-lock"
FLAGS = ("isVideoEnabled", "isScreenSharing", "isMuted", "isDeafened")

# (Re)register. Returns -1 when the user was (live) present and only the TTL was refreshed, else the
# number of other entries (live or stale) the room held: 0 means this user opened it.
_JOIN = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  return -1
end
local others = redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[4])
return others
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
# Forget a room with no entries left (the sweeper); atomic against a concurrent join.
_FORGET_IF_EMPTY = """
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) return 1 end
return 0
"""


def _decode(raw: str | None) -> dict | None:
    return json.loads(raw) if raw else None


class PresenceStore:
    """Who is in which room of one kind (`channel` or `dm`), under its own key prefix."""

    def __init__(self, prefix: str, kind: str) -> None:
        self.prefix = prefix
        self.kind = kind
        self.rooms_key = f"{prefix}{kind}s"

    def _room(self, rid: str) -> str:
        return f"{self.prefix}{self.kind}:{rid}"

    def _alive(self, rid: str, uid: str) -> str:
        return f"{self.prefix}alive:{rid}:{uid}"

    def _user(self, uid: str) -> str:
        return f"{self.prefix}user:{uid}"

    def add(self, rid: str, uid: str, entry: dict, ttl: int) -> int | None:
        """Register `entry` for (room, user). None when it was already live (TTL refreshed only),
        else how many other entries (live or stale) the room held: 0 = the user opened the room."""
        others = redis.eval(_JOIN, 4, self._room(rid), self._alive(rid, uid), self._user(uid), self.rooms_key,
                            uid, json.dumps(entry, separators=(",", ":")), ttl, rid)
        return None if int(others) < 0 else int(others)

    def remove(self, rid: str, uid: str) -> dict | None:
        """Remove the entry; returns it when this call removed it (the caller announces it)."""
        return _decode(redis.eval(_LEAVE, 3, self._room(rid), self._alive(rid, uid), self._user(uid), uid, rid))

    def prune(self, rid: str, uid: str) -> dict | None:
        """Remove the entry if its TTL ran out; returns it when this call removed it."""
        return _decode(redis.eval(_PRUNE, 3, self._room(rid), self._alive(rid, uid), self._user(uid), uid, rid))

    def update(self, rid: str, uid: str, flags: dict[str, bool], ttl: int) -> dict | None:
        """Merge boolean `flags` (keys of FLAGS only) into a live entry; None when the user is not present."""
        args: list[object] = [uid, ttl]
        for name, value in flags.items():
            if name in FLAGS:
                args += [name, "1" if value else "0"]
        return _decode(redis.eval(_UPDATE, 2, self._room(rid), self._alive(rid, uid), *args))

    def refresh(self, rid: str, uid: str, ttl: int) -> bool:
        """Extend a live entry's TTL; False when there is none."""
        return bool(redis.expire(self._alive(rid, uid), ttl))

    def entries(self, rid: str) -> tuple[list[dict], list[str]]:
        """(live entries, user ids of stale ones) of a room."""
        raw = redis.hgetall(self._room(rid))
        if not raw:
            return [], []
        uids = list(raw)
        alive = redis.mget([self._alive(rid, uid) for uid in uids])
        live = [json.loads(raw[uid]) for uid, flag in zip(uids, alive) if flag is not None]
        return live, [uid for uid, flag in zip(uids, alive) if flag is None]

    def user_ids(self, rid: str) -> list[str]:
        """Every user id with an entry (live or stale) in the room."""
        return list(redis.hkeys(self._room(rid)))

    def rooms_of(self, uid: str) -> tuple[list[str], list[str]]:
        """(room ids where the user is live, room ids whose entry is stale or gone)."""
        rids = sorted(redis.smembers(self._user(uid)))
        if not rids:
            return [], []
        alive = redis.mget([self._alive(rid, uid) for rid in rids])
        return ([rid for rid, flag in zip(rids, alive) if flag is not None],
                [rid for rid, flag in zip(rids, alive) if flag is None])

    def rooms_with_entries(self) -> list[str]:
        return list(redis.smembers(self.rooms_key))

    def forget_if_empty(self, rid: str) -> None:
        redis.eval(_FORGET_IF_EMPTY, 2, self._room(rid), self.rooms_key, rid)


CHANNELS = PresenceStore(PREFIX, "channel")       # kraken:voice:channel:<channelId>, ...
DM_CALLS = PresenceStore("kraken:dmvoice:", "dm")  # kraken:dmvoice:dm:<groupId>, ...


def take_sweep_lock(ttl: int, seconds: int) -> bool:
    """One sweep (of both stores) per interval across the processes that share a TTL setting."""
    return bool(redis.set(f"{SWEEP_LOCK}:{ttl}", "1", nx=True, ex=max(1, seconds)))
