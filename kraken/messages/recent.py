"""The newest messages of each channel, kept in Redis as ready JSON, newest first (docs/decisions/0020-redis-caches.md).

Each item is the message's 12-digit number in its channel (kraken.messages.timeline: the order of
history) followed by its JSON, whose first key is "id"; `body()` and `item_id()` read them.

Opening a channel reads its first history page; that is the hottest read of the app. It is served
from here: from this process's copy of the list while Redis tracks it (kraken.tracking), else in one
Redis call. (MongoDB answers it from the `(channelId, _id)` index anyway, but
the store reads a page from one or two buckets of 64 messages (kraken.messages.timeline), a few ms;
this cache makes it a memory read.)

Correctness, as in kraken.permcache: a reader notes the channel's generation before reading the
database and stores its fill only if the generation is unchanged; every writer bumps it after its
database write. Writers also patch a filled list in place (send inserts in `_id` order, edits and
reactions replace, deletes remove), so the cache stays warm. Without Redis, reads go to the database.
"""
from __future__ import annotations

import json
import logging
from typing import Callable

from redis.exceptions import RedisError

from kraken import dependents
from kraken.extensions import redis
from kraken.messages.models import Message

log = logging.getLogger("kraken.messages")
KEEP = 200
TTL_SECONDS = 24 * 3600
_LIST, _META, _GEN = "kraken:cache:recent:", "kraken:cache:recentmeta:", "kraken:cache:recentgen:"

# Items are a 12-digit number then a compact JSON object whose first key is "id": the id is chars 20..43.
_SEQ_WIDTH = 12
_ID = "string.sub(v, 20, 43)"

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
local seq = string.sub(new, 1, 12)
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or string.sub(head, 1, 12) < seq then
  redis.call('LPUSH', KEYS[1], new)  -- the usual case: the newest message; no walk over the list
else
  local items = redis.call('LRANGE', KEYS[1], 0, -1)
  local placed = false
  for i, v in ipairs(items) do
    if string.sub(v, 1, 12) < seq then redis.call('LINSERT', KEYS[1], 'BEFORE', v, new) placed = true break end
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


def encode(message_json: dict, seq: int) -> str:
    """The cached item of a message: its number in the channel, then its JSON."""
    return f"{seq:0{_SEQ_WIDTH}d}" + json.dumps(message_json, separators=(",", ":"), ensure_ascii=False)


def body(item: str) -> str:
    """The message JSON of an item."""
    return item[_SEQ_WIDTH:]


def item_id(item: str) -> str:
    return item[_SEQ_WIDTH + 7:_SEQ_WIDTH + 31]


def item_seq(item: str) -> int:
    """The message's number in its conversation."""
    return int(item[:_SEQ_WIDTH])


def read(channel_id: object, limit: int, before: str | None) -> list[str] | None:
    """The page as JSON strings, or None when the cache cannot answer (cold, or past its window).

    The list and its marker are held by this process while Redis tracks them (kraken.tracking):
    a channel's history is read from Redis once per change, not once per request."""
    list_key, meta_key, _ = _keys(channel_id)
    tracked = redis.tracked_history
    held = tracked.get((meta_key, list_key))
    if held is None:
        ticket = tracked.ticket()
        try:
            pipe = redis.pipeline(transaction=True)  # the list and its marker as one writer left them
            pipe.get(meta_key)
            pipe.lrange(list_key, 0, -1)
            meta, items = pipe.execute()
        except RedisError:
            return None
        held = [meta, tuple(items)]
        tracked.put(ticket, {meta_key: meta, list_key: held[1]})
    return _page(held[0], held[1], limit, before)


def _page(meta: str | None, items: tuple[str, ...], limit: int, before: str | None) -> list[str] | None:
    if meta is None:
        return None
    start = 0
    if before:
        start = next((i + 1 for i, item in enumerate(items) if item_id(item) == before), None)
        if start is None:
            return None  # older than what is kept
    page = list(items[start:start + limit])
    if len(page) < limit and meta != "complete":
        return None
    return page


def read_through(channel_id: object, limit: int, before: str | None,
                 stored: Callable[[], tuple[list[str], bool] | None]) -> list[str]:
    """The page from the cache, else from `stored()` (items newest first and whether they reach the
    channel's first message; None: nothing to read). A first page read from the database fills the
    cache, unless a writer came in between (the generation is read before `stored` runs)."""
    page = read(channel_id, limit, before)
    if page is not None:
        return page
    seen = generation(channel_id) if before is None else None
    found = stored()
    if found is None:
        return []
    items, complete = found
    if seen is not None:
        fill(channel_id, seen, items[:KEEP], complete=complete and len(items) <= KEEP)
    return items[:limit]


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


def _drop(channel_ids) -> None:
    """Make the channels' lists cold: a new generation (no fill read before now is stored) and no
    list. Raises RedisError (kraken.dependents then redoes it when Redis is back: it may come back
    *with* its data, an append-only file, and would otherwise serve a stale list)."""
    pipe = redis.pipeline(transaction=True)
    for cid in channel_ids:
        list_key, meta_key, gen_key = _keys(cid)
        pipe.incr(gen_key)
        pipe.expire(gen_key, 2 * TTL_SECONDS)
        pipe.delete(list_key, meta_key)
    pipe.execute()


def _write(script: str, channel_id: object, *args) -> None:
    try:
        redis.eval(script, 3, *_keys(channel_id), *args)
    except RedisError:
        # the list may now be stale: drop it so the next read refills from the database
        log.warning("recent-history cache write failed; dropping it", extra={"channel_id": str(channel_id)})
        dependents.reach(_drop, [str(channel_id)])


# Sends, edits, reactions and deletes patch the list above (write-through, by the messages service);
# any other write of a channel's messages (a bulk delete, a one-off save) drops it.
# A message document names its conversation's list (a thread's, a group's, a channel's); a bulk write
# names the list by `channel_id=` (the id of the conversation it wrote).
dependents.depends(Message, lambda message: [str(getattr(message, "conversation_id", None) or message.channel_id)],
                   _drop)
