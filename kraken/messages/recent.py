"""The newest messages of each channel, kept in Redis as ready JSON, newest first (decisions §8).

Opening a channel reads its first history page; that is the hottest read of the app. It is served
from here in one Redis call. (MongoDB answers it from the `(channelId, _id)` index anyway, but
FerretDB 1.x's SQLite backend pushes down only `_id` equality: every other query scans the whole
collection, 2.3 s per page at 50k messages, so without this dev and test setups slow down as
history grows.)

Correctness, as in kraken.permcache: a reader notes the channel's generation before reading the
database and stores its fill only if the generation is unchanged; every writer bumps it after its
database write. Writers also patch a filled list in place (send inserts in `_id` order, edits and
reactions replace, deletes remove), so the cache stays warm. Without Redis, reads go to the database.
"""
from __future__ import annotations

import json
import logging

from redis.exceptions import RedisError

from kraken.extensions import redis

log = logging.getLogger("kraken.messages")
KEEP = 200
TTL_SECONDS = 24 * 3600
_LIST, _META, _GEN = "kraken:cache:recent:", "kraken:cache:recentmeta:", "kraken:cache:recentgen:"

# Items are compact JSON objects whose first key is "id": the id is chars 8..31.
_ID = "string.sub(v, 8, 31)"

_READ = f"""
local meta = redis.call('GET', KEYS[2])
if not meta then return false end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local start = 1
if ARGV[1] ~= '' then
  start = nil
  for i, v in ipairs(items) do
    if {_ID} == ARGV[1] then start = i + 1 break end
  end
  if not start then return false end
end
local limit = tonumber(ARGV[2])
local page = {{}}
for i = start, math.min(#items, start + limit - 1) do page[#page + 1] = items[i] end
if #page < limit and meta ~= 'complete' then return false end
return page
"""

_FILL = """
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('SET', KEYS[2], ARGV[2], 'EX', 86400)
redis.call('EXPIRE', KEYS[1], 86400)
return 1
"""

_ADD = f"""
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], 172800)
if not redis.call('GET', KEYS[2]) then return 0 end
local new = ARGV[1]
local id = string.sub(new, 8, 31)
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or string.sub(head, 8, 31) < id then
  redis.call('LPUSH', KEYS[1], new)  -- the usual case: the newest message; no walk over the list
else
  local items = redis.call('LRANGE', KEYS[1], 0, -1)
  local placed = false
  for i, v in ipairs(items) do
    if {_ID} < id then redis.call('LINSERT', KEYS[1], 'BEFORE', v, new) placed = true break end
  end
  if not placed then redis.call('RPUSH', KEYS[1], new) end
end
if redis.call('LLEN', KEYS[1]) > tonumber(ARGV[2]) then
  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
  redis.call('SET', KEYS[2], 'partial', 'KEEPTTL')
end
return 1
"""

_PATCH = f"""
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], 172800)
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for i, v in ipairs(items) do
  if {_ID} == ARGV[1] then
    if ARGV[2] == '' then redis.call('LREM', KEYS[1], 1, v) else redis.call('LSET', KEYS[1], i - 1, ARGV[2]) end
    return 1
  end
end
return 0
"""


def _keys(channel_id: object) -> list[str]:
    cid = str(channel_id)
    return [_LIST + cid, _META + cid, _GEN + cid]


def encode(message_json: dict) -> str:
    return json.dumps(message_json, separators=(",", ":"), ensure_ascii=False)


def read(channel_id: object, limit: int, before: str | None) -> list[str] | None:
    """The page as JSON strings, or None when the cache cannot answer (cold, or past its window)."""
    try:
        page = redis.eval(_READ, 3, *_keys(channel_id), before or "", limit)
    except RedisError:
        return None
    return None if page is None else list(page)


def generation(channel_id: object) -> str | None:
    try:
        return redis.get(_GEN + str(channel_id)) or "0"
    except RedisError:
        return None


def fill(channel_id: object, seen_generation: str, newest: list[str], complete: bool) -> None:
    """Store the newest messages read from the database, unless a writer came in between."""
    try:
        redis.eval(_FILL, 3, *_keys(channel_id), seen_generation, "complete" if complete else "partial", *newest)
    except RedisError:
        pass


def added(channel_id: object, item: str) -> None:
    _write(_ADD, channel_id, item, KEEP)


def replaced(channel_id: object, message_id: str, item: str) -> None:
    _write(_PATCH, channel_id, message_id, item)


def removed(channel_id: object, message_id: str) -> None:
    _write(_PATCH, channel_id, message_id, "")


def forget(channel_ids) -> None:
    try:
        keys = [k for cid in channel_ids for k in _keys(cid)]
        if keys:
            redis.delete(*keys)
    except RedisError:
        pass


def _write(script: str, channel_id: object, *args) -> None:
    try:
        redis.eval(script, 3, *_keys(channel_id), *args)
    except RedisError:
        # the list may now be stale: drop it so the next read refills from the database
        log.warning("recent-history cache write failed; dropping it", extra={"channel_id": str(channel_id)})
        try:
            redis.delete(*_keys(channel_id)[:2])
        except RedisError:
            pass
