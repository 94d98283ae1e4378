"""Build the search index (kraken.search.index, docs/decisions/0049-search.md) for the messages stored
before it existed.

A conversation at a time (one per message counter: channels, direct-message groups, threads), its
messages are read bucket by bucket above its `search_progress` and indexed (one `$inc` per (scope, term)
and one `$addToSet` per block touched, single-document updates), then its progress is moved past them,
as the app's own catch-up does. Idempotent and resumable: a conversation indexed up to its counter is
skipped, so a second run writes nothing and a run that stopped goes on where it stopped (a conversation
interrupted half-way may hold a duplicate ref, which readers drop). Safe while the app runs: a number
taken but not stored yet is kept as a gap that the app's catch-ups look at again.
"""
from __future__ import annotations

import time

PROGRESS_EVERY = 500


def up(db, echo):
    from kraken.search import index  # the app's index code, on this database

    communities: dict = {}

    def community_of(channel_id):
        if channel_id not in communities:
            found = db.channels.find_one({"_id": channel_id}, {"communityId": 1})
            communities[channel_id] = found["communityId"] if found else None
        return communities[channel_id]

    progress = {d["_id"]: d.get("seq", 0) for d in db[index.PROGRESS].find({}, {"seq": 1})}
    counters = [(c["_id"], c.get("seq", 0)) for c in db.message_counters.find({}, {"seq": 1})]
    todo = [(cid, seq) for cid, seq in counters if seq > progress.get(cid, 0)]
    echo(f"  {len(counters)} conversations, {len(todo)} to index")
    started, messages = time.monotonic(), 0
    for number, (conversation_id, seq) in enumerate(todo, 1):
        messages += seq - progress.get(conversation_id, 0)
        index.catch_up(db, conversation_id, community_of, budget=10 ** 12, settle_seconds=0.0,
                       gap_seconds=600.0)
        if number % PROGRESS_EVERY == 0 or number == len(todo):
            elapsed = time.monotonic() - started
            echo(f"  conversation {number}/{len(todo)} indexed (about {messages} numbers, {elapsed:.0f} s)")
