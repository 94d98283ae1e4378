"""Message search (kraken-later-endpoints §12; docs/decisions/0049-search.md).

Indexing is off the send path. A stored message (`domain.message_stored`) only marks its conversation
in Redis (`HINCRBY` in its channel's or group's hash, `SADD` of that container into the set of dirty
ones, one pipelined round trip); a background task of the process takes dirty containers and catches their
conversations up. The durable truth is in the store: `search_progress` says up to which number (`seq`,
kraken.messages.timeline) each conversation is indexed, and catching up reads the conversation's buckets
above it, so a mark lost with a crash or with Redis only delays a conversation until its next message,
a search in it, or the sweep (every SWEEP_SECONDS, conversations whose counter is ahead of their
progress). A search first catches up the conversations marked in the containers it reads (bounded by
CATCH_UP_BUDGET messages), so a message is found right after its send was acknowledged.

Reading: the query's terms (kraken.search.words), their heads, then the blocks of the rarest term from
the newest down; each ref of a container the caller may read is verified against the message as stored
now (present, same container, every query term among its current terms): deleted messages and words
removed by an edit never come back, a term added by an edit is indexed by the edit (`message_edited`).
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone

from bson import ObjectId
from redis.exceptions import RedisError

from kraken import domain
from kraken.channels.models import Channel
from kraken.channels.service import community_channels
from kraken.common.lookups import each
from kraken.extensions import redis
from kraken.messages.models import Message, MessageCounter, bucket_key
from kraken.messages.schemas import message_out
from kraken.rbac import visible_channels
from kraken.realtime import background
from kraken.search import index
from kraken.search.words import message_terms, terms

log = logging.getLogger("kraken.search")

INDEX_TASK, SWEEP_TASK = "search-index", "search-sweep"
INDEX_SECONDS = 1.0   # the background task's pause between rounds
STEP_CONTAINERS = 256  # channels or groups caught up per round at most
SWEEP_SECONDS = 600.0  # conversations behind their counter without a mark are found this often
CATCH_UP_BUDGET = 2000  # messages a search indexes at most before answering (a bigger backlog is the task's)
SETTLE_SECONDS = 2.0    # a number taken but not stored is waited for this long, then kept as a gap
GAP_SECONDS = 600.0     # a gap still empty after this is forgotten (a send that failed)
LOCK_SECONDS = 30
READ_SLACK = 4   # candidates read beyond those still needed (some fail verification)
_DIRTY = "kraken:search:dirty"           # set of container ids with marked conversations
_MARKS = "kraken:search:dirty:"          # + container id: hash conversation id -> marks counted
_LOCK = "kraken:search:lock:"            # + conversation id: one catcher-up at a time
_SWEEP_LOCK = "kraken:search:sweeping"
_communities: dict[str, object] = {}     # channel id -> community id (a channel never moves)


def _db():
    return Message._get_collection().database


def community_of(channel_id) -> object:
    key = str(channel_id)
    if key not in _communities:
        found = Channel._get_collection().find_one({"_id": ObjectId(key)}, {"communityId": 1})
        if found is None:
            return None  # a channel being deleted: its messages go with it
        _communities[key] = found["communityId"]
    return _communities[key]


# --- marking and catching up ---------------------------------------------------------------------------


def mark(container_id, conversation_id) -> None:
    """Note that a conversation (in a channel or group) has messages to index."""
    pipe = redis.pipeline(transaction=False)
    pipe.hincrby(_MARKS + str(container_id), str(conversation_id), 1)
    pipe.sadd(_DIRTY, str(container_id))
    pipe.execute()


def _message_stored(message) -> None:
    container = message.direct_message_group_id or message.channel_id
    try:
        mark(container, message.conversation_id)
    except RedisError:
        log.warning("search mark lost (Redis away): the sweep indexes it", exc_info=True)
    background.start(INDEX_TASK, SWEEP_TASK)


def _message_edited(message, previous_spans=()) -> None:
    """Index the words an edit added (refs of removed words stay: reads verify the current text)."""
    added = message_terms(message.spans) - message_terms(previous_spans)
    if added:
        doc = {"_id": message.id, "channelId": message.channel_id,
               "directMessageGroupId": message.direct_message_group_id}
        index.add(_db(), index.postings([doc], community_of, only=lambda _: added))


def _lock(conversation_id, wait: float) -> str | None:
    """Take the conversation's catch-up lock, waiting up to `wait` s; "" when Redis is away (go ahead),
    None when another process kept it (it is catching up that conversation meanwhile)."""
    token, deadline = uuid.uuid4().hex, time.monotonic() + wait
    while True:
        try:
            if redis.set(_LOCK + str(conversation_id), token, nx=True, ex=LOCK_SECONDS):
                return token
        except RedisError:
            return ""
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)


def _unlock(conversation_id, token: str) -> None:
    if token:
        try:
            if redis.get(_LOCK + str(conversation_id)) == token:
                redis.delete(_LOCK + str(conversation_id))
        except RedisError:
            pass


def catch_up(conversation_id, budget: int = CATCH_UP_BUDGET, wait: float = 5.0) -> bool:
    """Index the conversation's messages numbered above its progress, up to `budget` of them; True when it
    is caught up to its counter (False: a budget or lock ran out, or a number is still on its way)."""
    token = _lock(conversation_id, wait)
    if token is None:
        return False
    try:
        return index.catch_up(_db(), ObjectId(str(conversation_id)), community_of, budget, SETTLE_SECONDS,
                              GAP_SECONDS, lambda: _holds(conversation_id, token))
    finally:
        _unlock(conversation_id, token)


def _holds(conversation_id, token: str) -> bool:
    """Whether this catch-up still holds its lock (not expired, Redis not emptied); True without Redis."""
    if not token:
        return True
    try:
        return redis.get(_LOCK + str(conversation_id)) == token
    except RedisError:
        return True


# a conversation's mark goes only if no send marked it again since it was read (compare and delete)
_UNMARK = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""


def catch_up_containers(container_ids, budget: int = CATCH_UP_BUDGET, wait: float = 5.0) -> bool:
    """Catch up the marked conversations of these channels or groups. A mark stays while its conversation
    is being caught up (a search meanwhile sees it and waits for the catch-up's lock) and is taken off
    after, unless a send marked the conversation again meanwhile."""
    container_ids = [str(c) for c in container_ids]
    try:
        pipe = redis.pipeline(transaction=False)
        for container in container_ids:
            pipe.hgetall(_MARKS + container)
        marked = pipe.execute()
    except RedisError:
        return False
    complete = True
    for container, conversations in zip(container_ids, marked):
        for conversation, count in conversations.items():
            if catch_up(conversation, budget, wait):
                redis.eval(_UNMARK, 1, _MARKS + container, conversation, count)
            else:
                redis.sadd(_DIRTY, container)  # the task comes back to it
                complete = False
    return complete


def index_step() -> None:
    """One round of the background task: the marked conversations of up to STEP_CONTAINERS dirty
    containers (one not finished is put back for a later round)."""
    containers = redis.spop(_DIRTY, STEP_CONTAINERS)
    if containers:
        catch_up_containers(containers, budget=10 * index.BATCH, wait=0.5)


def sweep() -> int:
    """Mark the conversations whose counter is ahead of their index progress (one process at a time);
    returns how many. Reads both collections whole: rare, and they hold a document per conversation."""
    if not redis.set(_SWEEP_LOCK, "1", nx=True, ex=int(SWEEP_SECONDS)):
        return 0
    progress = {d["_id"]: d.get("seq", 0) for d in _db()[index.PROGRESS].find({}, {"seq": 1})}
    behind = 0
    for counter in MessageCounter._get_collection().find({}, {"seq": 1}):
        if counter.get("seq", 0) > progress.get(counter["_id"], 0):
            container = _container_of_conversation(counter["_id"])
            if container is not None:
                mark(container, counter["_id"])
                behind += 1
    return behind


def _container_of_conversation(conversation_id) -> object:
    """A conversation's channel or group: itself, or a thread parent's."""
    for doc in Message._get_collection().find({"bucket": bucket_key(conversation_id, 1)}).limit(1):
        return index.container_of(doc)
    parent = Message._get_collection().find_one({"_id": conversation_id}, {"channelId": 1,
                                                                          "directMessageGroupId": 1})
    return conversation_id if parent is None else index.container_of(parent)


# --- reading ---------------------------------------------------------------------------------------------


def _hits(scope, words: list[str], limit: int, readable) -> list[Message]:
    """Up to `limit` messages of `scope` holding every term of `words` now, in a readable container,
    newest first. Driven from the rarest term, newest block first; candidates are verified a few at a
    time, read concurrently (each one `_id` equality), until `limit` of them hold."""
    db = _db()
    counts = {term: index.count(db, scope, term) for term in words}
    if not counts or min(counts.values()) == 0:
        return []
    rarest = min(counts, key=counts.get)
    wanted = set(words)
    found: list[Message] = []
    for block in index.refs(db, scope, rarest, counts[rarest]):
        candidates = [ref for ref in block if readable(ref[1])]
        while candidates and len(found) < limit:
            take = min(len(candidates), limit - len(found) + READ_SLACK)
            part, candidates = candidates[:take], candidates[take:]
            for (message_id, container), doc in zip(part, _read_messages([m for m, _ in part])):
                if (doc is not None and str(index.container_of(doc)) == container
                        and wanted <= message_terms(doc.get("spans"))):
                    found.append(Message._from_son(doc))
        if len(found) >= limit:
            break
    found.sort(key=lambda m: (_aware(m.sent_at), m.id), reverse=True)
    return found[:limit]


def _read_messages(message_ids: list[str]) -> list[dict | None]:
    """The stored documents of these ids (None: gone): an `_id` equality each, a few at a time."""
    collection = Message._get_collection()
    return each(lambda message_id: collection.find_one({"_id": ObjectId(message_id)}), message_ids)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _query_terms(q: str | None) -> list[str]:
    return terms(q or "")


def search_channel(channel, q: str | None, limit: int) -> list[dict]:
    """A channel's messages (its threads' replies too) matching `q`; the caller was authorised for it."""
    words = _query_terms(q)
    if not words:
        return []
    catch_up_containers([channel.id])
    own = str(channel.id)
    return [message_out(m) for m in _hits(channel.id, words, limit, lambda c: c == own)]


def search_group(group, q: str | None, limit: int) -> list[dict]:
    """A direct-message group's messages matching `q`; the caller is a member."""
    words = _query_terms(q)
    if not words:
        return []
    catch_up_containers([group.id])
    own = str(group.id)
    return [message_out(m) for m in _hits(group.id, words, limit, lambda c: c == own)]


def search_community(community, grant, q: str | None, limit: int) -> list[dict]:
    """Messages of the community's channels the holder of `grant` may enter (public ones, private ones
    they are in) matching `q`, each with its `channelName`."""
    words = _query_terms(q)
    if not words:
        return []
    channels = {str(c.id): c for c in visible_channels(grant, community_channels(community.id), enter=True)}
    catch_up_containers(list(channels))
    out = []
    for m in _hits(community.id, words, limit, channels.__contains__):
        item = message_out(m)
        item["channelName"] = channels[str(m.channel_id)].name
        out.append(item)
    return out


def init_app(sweep_seconds: float = SWEEP_SECONDS) -> None:
    """Connect the marks and declare the indexing task, and the sweep every `sweep_seconds` (0: no
    periodic sweep in this process: the test suite's live servers, whose sweep would index the seeded
    conversations of whatever test runs at that moment; `sweep()` still runs when called)."""
    domain.connect(domain.message_stored, _message_stored)
    domain.connect(domain.message_edited, _message_edited)
    background.declare(INDEX_TASK, lambda: INDEX_SECONDS, index_step)
    if sweep_seconds > 0:
        background.declare(SWEEP_TASK, lambda: sweep_seconds, sweep)
