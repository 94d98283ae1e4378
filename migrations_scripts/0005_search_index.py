"""Build the search index (kraken.search.index, docs/decisions/0049-search.md) for the messages stored
before it existed.

Every conversation (one per message counter: channels, direct-message groups, threads) is read bucket by
bucket above its `search_progress`, as the app's catch-up reads it, but all conversations together in the
order of time: the next bucket indexed is always the one whose oldest message is the oldest of all the
conversations' next buckets (a heap holding one read bucket per conversation). Refs then go into the
posting blocks in about the order the messages were sent (to a bucket: 64 messages), which is the order
searches read them in (newest block first). After each bucket the conversation's progress moves past it;
a number neither stored nor buried (a send in flight while the app runs) is kept as a gap that the app's
catch-ups look at again. Idempotent and resumable: a conversation indexed up to its counter is skipped,
so a second run writes nothing and a run that stopped goes on where it stopped (the bucket it was in may
hold a duplicate ref, which readers drop). Writes are single-document updates (`$inc` per (scope, term),
`$addToSet` per block), never a multi-statement command.
"""
from __future__ import annotations

import heapq
import itertools
import time
from datetime import datetime, timezone

PROGRESS_EVERY = 1000  # buckets between progress lines
_FIRST = datetime.min.replace(tzinfo=timezone.utc)


def up(db, echo):
    from kraken.messages.models import BUCKET
    from kraken.search import index  # the app's index code, on this database

    index.ensure_collections(db)
    communities: dict = {}

    def community_of(channel_id):
        if channel_id not in communities:
            found = db.channels.find_one({"_id": channel_id}, {"communityId": 1})
            communities[channel_id] = found["communityId"] if found else None
        return communities[channel_id]

    progress = {d["_id"]: (d.get("seq", 0), d.get("gaps", [])) for d in db[index.PROGRESS].find({}, {"seq": 1,
                                                                                                     "gaps": 1})}
    counters = [(c["_id"], c.get("seq", 0)) for c in db.message_counters.find({}, {"seq": 1})]
    todo = [(cid, top) for cid, top in counters if top > progress.get(cid, (0, []))[0]]
    echo(f"  {len(counters)} conversations, {len(todo)} to index")
    heap: list = []
    order = itertools.count()  # ties: never compare documents

    def load(conversation_id, done: int, top: int) -> None:
        """Read the conversation's next bucket above `done` and queue it by its oldest message."""
        high = min(top, ((done + 1) // BUCKET + 1) * BUCKET - 1)
        found = index.read_numbers(db, conversation_id, done + 1, high)
        times = [_aware(d["sentAt"]) for d in found.values() if d.get("sentAt")]
        heapq.heappush(heap, (min(times, default=_FIRST), next(order), conversation_id, done, high, top, found))

    for conversation_id, top in todo:
        load(conversation_id, progress.get(conversation_id, (0, []))[0], top)
    started, buckets, messages = time.monotonic(), 0, 0
    now = time.time()
    while heap:
        _, _, conversation_id, done, high, top, found = heapq.heappop(heap)
        index.add(db, index.postings([found[s] for s in sorted(found)], community_of))
        missing = [[s, now] for s in range(done + 1, high + 1)
                   if s not in found and not index.buried(db, conversation_id, s)]
        gaps = progress.get(conversation_id, (0, []))[1] + missing
        progress[conversation_id] = (high, gaps)
        db[index.PROGRESS].update_one({"_id": conversation_id}, {"$max": {"seq": high}, "$set": {"gaps": gaps}},
                                      upsert=True)
        buckets, messages = buckets + 1, messages + len(found)
        if high < top:
            load(conversation_id, high, top)
        if buckets % PROGRESS_EVERY == 0 or not heap:
            echo(f"  {buckets} buckets, {messages} messages indexed, {len(heap)} conversations in progress "
                 f"({time.monotonic() - started:.0f} s)")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
