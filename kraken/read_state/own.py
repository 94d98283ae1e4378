"""The author's own mark, written behind the send (docs/decisions/0050-own-mark-written-behind.md).

Sending a message marks it read for its author. Doing that in the database inside every send cost a
conditional update of the author's one `read_states` document per message, unbatched and contended
(several sends of one author update one document): the persisted-messages rate fell from ~955/s to
~349/s. Instead the send path runs one Redis script that raises the conversation's mirrored last seq
and the author's pending own mark (`kraken:ownmark:<uid>`: conversationId -> "seq kind messageId atMs",
raised only upward) and notes the author as dirty. A periodic task of every process writes the pending
marks into `read_states` with the same forward-only update a `markAsRead` uses (one update per author and
conversation per round, however many messages were sent), then forgets each entry it wrote unless a
later send raised it meanwhile. Readers take the further of the stored and the pending mark, so a
pending mark counts at once. Losing Redis before a round wrote them loses at most the last round's own
marks: the author's own newest messages then count as unread until they read the conversation.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from bson import ObjectId
from redis.exceptions import RedisError

from kraken.extensions import redis

log = logging.getLogger("kraken.read_state")
SEQ = "kraken:convseq:"
OWN = "kraken:ownmark:"
DIRTY = "kraken:ownmark:dirty"
SEQ_TTL = 86400  # a mirror that missed a raise (Redis away) is right again at the next message, or after this
OWN_TTL = 7 * 86400  # a pending mark no round wrote (every process gone) is dropped after this
FLUSH_SECONDS = 0.5
FLUSH_USERS = 200  # authors written per round and process

# the mirror and the pending mark only rise: a late raise of an older number never lowers them
_RAISE = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
"""
_NOTE = _RAISE + """
local own = redis.call('HGET', KEYS[2], ARGV[3])
if own and tonumber(string.match(own, '^%d+')) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('SADD', KEYS[3], ARGV[5])
return 1
"""
# the same for many mirrors at once: KEYS the mirrors, ARGV[1] the TTL, ARGV[1 + i] the seq of KEYS[i]
_RAISE_MANY = """
for i, key in ipairs(KEYS) do
  local cur = tonumber(redis.call('GET', key) or '-1')
  if cur < tonumber(ARGV[i + 1]) then redis.call('SET', key, ARGV[i + 1], 'EX', ARGV[1]) end
end
return 1
"""
RAISE_BATCH = 500
# forget a written entry unless a later send replaced it; an author with nothing pending is clean
_FORGET = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[3]) end
return 1
"""


def _encode(seq: int, kind: str, message_id: str, at: datetime) -> str:
    return f"{seq} {kind} {message_id} {int(at.timestamp() * 1000)}"


def _decode(value) -> dict:
    seq, kind, message_id, at_ms = (value.decode() if isinstance(value, bytes) else value).split(" ")
    at = datetime.fromtimestamp(int(at_ms) / 1000, tz=timezone.utc)
    return {"seq": int(seq), "kind": kind, "messageId": message_id, "at": at}


def raise_seqs(seqs: dict[str, int]) -> None:
    """Raise several conversations' mirrors: one script call per RAISE_BATCH conversations (a cold
    `unread-counts` raises hundreds at once: one call each cost ~15 ms of packing and round trips)."""
    items = list(seqs.items())
    try:
        for start in range(0, len(items), RAISE_BATCH):
            batch = items[start:start + RAISE_BATCH]
            redis.eval(_RAISE_MANY, len(batch), *[SEQ + c for c, _ in batch], SEQ_TTL, *[s for _, s in batch])
    except RedisError:
        log.warning("conversation seq mirrors not raised for %d conversations", len(seqs))


def note(user_id, conversation_id: str, kind: str, message_id: str, seq: int, at: datetime) -> dict | None:
    """The author's message is stored: raise the conversation's mirror and the author's pending mark.
    Returns the new pending mark, None when it did not move (or Redis is away: the mark is not kept)."""
    value = _encode(seq, kind, message_id, at)
    try:
        moved = redis.eval(_NOTE, 3, SEQ + conversation_id, OWN + str(user_id), DIRTY,
                           seq, SEQ_TTL, conversation_id, value, str(user_id), OWN_TTL)
    except RedisError:
        log.warning("own mark not noted for %s in %s", user_id, conversation_id)
        return None
    return _decode(value) if moved else None


def pending(user_id) -> dict[str, dict]:
    """The user's own marks not written yet: {conversationId: mark}."""
    try:
        found = redis.hgetall(OWN + str(user_id))
    except RedisError:
        return {}
    return {(k.decode() if isinstance(k, bytes) else k): _decode(v) for k, v in found.items()}


def pending_in(user_ids: list, conversation_id: str) -> list[dict | None]:
    """Each user's pending own mark in one conversation (one pipeline)."""
    if not user_ids:
        return []
    try:
        pipe = redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hget(OWN + str(user_id), conversation_id)
        return [None if v is None else _decode(v) for v in pipe.execute()]
    except RedisError:
        return [None] * len(user_ids)


def forget(user_id) -> None:
    """Drop the user's pending own marks (a deleted account): no later round writes them back."""
    uid = str(user_id)
    try:
        pipe = redis.pipeline(transaction=True)
        pipe.delete(OWN + uid)
        pipe.srem(DIRTY, uid)
        pipe.execute()
    except RedisError:  # kept at most OWN_TTL; a round would write them to a document no one reads
        log.warning("own marks not forgotten for %s", uid)


def further(stored: dict | None, waiting: dict | None) -> dict | None:
    """The further of a stored and a pending mark."""
    if stored is None or (waiting is not None and waiting["seq"] > stored["seq"]):
        return waiting
    return stored


def flush(write, limit: int = FLUSH_USERS) -> int:
    """Write pending own marks of up to `limit` dirty authors with `write(user_id, conversationId, mark)`
    (forward only); returns how many marks were written."""
    written = 0
    for raw in redis.srandmember(DIRTY, limit) or []:
        uid = raw.decode() if isinstance(raw, bytes) else raw
        key = OWN + uid
        for field, value in redis.hgetall(key).items():
            conversation_id = field.decode() if isinstance(field, bytes) else field
            write(ObjectId(uid), conversation_id, _decode(value))
            redis.eval(_FORGET, 2, key, DIRTY, conversation_id, value, uid)
            written += 1
        redis.eval(_FORGET, 2, key, DIRTY, "", "", uid)  # nothing left (expired or written by another process)
    return written
