"""The search index: posting blocks read by `_id` equality alone (docs/decisions/0049-search.md).

For each (scope, term) — a scope is a community, a channel or a direct-message group — a head document
`search_heads {_id: "<scope>|<term>", n}` counts the slots handed out, and the refs sit in fixed-size
blocks `search_blocks {_id: "<scope>|<term>|<slot // BLOCK>", refs: ["<messageId>:<containerId>", ...]}`
(the container is the message's channel or group; a thread reply is indexed in its parent's). Writing
a batch takes a run of slots with one atomic `$inc` per (scope, term) and appends the refs with
`$addToSet` + `$each` into the blocks those slots fall in: two processes indexing at once never share a
slot, and indexing a message twice only adds a duplicate ref that readers drop. Reading a term is its
head, then its blocks from the newest down, each one `_id` equality: the cost of a search follows the
hits read, never the number of stored messages (FerretDB 1.24 pushes `_id` equalities down to a GIN
index; MongoDB serves them from `_id`).

Nothing here trusts the index for what it returns: the caller verifies every ref against the message
as stored now (deleted, edited, moved out of reach), so stale refs cost a read, never a wrong answer.

Everything takes the database (a pymongo Database): the app's, a migration's or a benchmark's own.
`search_progress {_id: conversationId, seq, gaps}` records how far each conversation's numbered history
(kraken.messages.timeline) has been indexed.
"""
from __future__ import annotations

import time
from collections import defaultdict
from typing import Callable, Iterable, Iterator

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import CollectionInvalid

from kraken.messages.models import BUCKET as MESSAGES_BUCKET  # the history layout catch-ups read
from kraken.search.words import message_terms

BATCH = 4 * MESSAGES_BUCKET  # messages read and indexed per step of a catch-up
BLOCK = 64  # refs per block: part of the stored layout (a change needs a migration)
HEADS, BLOCKS, PROGRESS = "search_heads", "search_blocks", "search_progress"


def ensure_collections(db) -> None:
    """Create the index's collections explicitly: a `create` command is what makes the default store's
    GIN keeper give their `_id` its index at once (README "Storage"; an insert creates a collection
    silently, and the keeper would only find it at its next minute). Harmless on MongoDB."""
    existing = set(db.list_collection_names())
    for name in (HEADS, BLOCKS, PROGRESS):
        if name not in existing:
            try:
                db.create_collection(name)
            except CollectionInvalid:  # created meanwhile by another process
                pass


def head_key(scope: object, term: str) -> str:
    return f"{scope}|{term}"


def block_key(scope: object, term: str, block: int) -> str:
    return f"{scope}|{term}|{block}"


def container_of(doc: dict) -> ObjectId:
    """The channel or direct-message group a stored message (or reply) is in."""
    return doc.get("directMessageGroupId") or doc["channelId"]


def scopes_of(doc: dict, community_of: Callable[[ObjectId], object]) -> list:
    """The scopes a message is indexed in: its community and its channel, or its group."""
    if doc.get("directMessageGroupId") is not None:
        return [doc["directMessageGroupId"]]
    community = community_of(doc["channelId"])
    return [doc["channelId"]] if community is None else [community, doc["channelId"]]


def postings(docs: Iterable[dict], community_of: Callable[[ObjectId], object],
             only: Callable[[dict], set] | None = None) -> dict[tuple[str, str], list[str]]:
    """(scope, term) -> refs of these message documents, each ref once. `only(doc)`: the terms to index
    for a document (default: all of its terms)."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for doc in docs:
        ref = f"{doc['_id']}:{container_of(doc)}"
        words = only(doc) if only is not None else message_terms(doc.get("spans"))
        for scope in scopes_of(doc, community_of):
            for term in words:
                out[(str(scope), term)].append(ref)
    return out


def add(db, entries: dict[tuple[str, str], list[str]]) -> int:
    """Append refs: one `$inc` per (scope, term) takes their slots, one `$addToSet` per block touched
    stores them (single-document updates: no multi-statement command, which FerretDB serialises badly).
    Returns the number of refs written."""
    heads, blocks = db[HEADS], db[BLOCKS]
    written = 0
    for (scope, term), refs in entries.items():
        refs = list(dict.fromkeys(refs))
        n = heads.find_one_and_update({"_id": head_key(scope, term)}, {"$inc": {"n": len(refs)}}, upsert=True,
                                      return_document=ReturnDocument.AFTER)["n"]
        by_block: dict[int, list[str]] = defaultdict(list)
        for slot, ref in enumerate(refs, n - len(refs)):
            by_block[slot // BLOCK].append(ref)
        for block, part in by_block.items():
            blocks.update_one({"_id": block_key(scope, term, block)}, {"$addToSet": {"refs": {"$each": part}}},
                              upsert=True)
        written += len(refs)
    return written


def bulk_documents(entries: dict[tuple[str, str], list[str]]) -> tuple[list[dict], list[dict]]:
    """Head and block documents for an empty index (a benchmark's seed): refs in the given order."""
    heads, blocks = [], []
    for (scope, term), refs in entries.items():
        refs = list(dict.fromkeys(refs))
        heads.append({"_id": head_key(scope, term), "n": len(refs)})
        for start in range(0, len(refs), BLOCK):
            blocks.append({"_id": block_key(scope, term, start // BLOCK), "refs": refs[start:start + BLOCK]})
    return heads, blocks


def count(db, scope: object, term: str) -> int:
    """Slots handed out for a term in a scope (0: the term never occurred there)."""
    found = db[HEADS].find_one({"_id": head_key(scope, term)}, {"n": 1})
    return found["n"] if found else 0


def refs(db, scope: object, term: str, n: int) -> Iterator[list[tuple[str, str]]]:
    """A term's refs block by block, newest block first, each block newest ref first, as
    (messageId, containerId); a ref seen in a newer block is not repeated."""
    seen: set[str] = set()
    for block in range((n - 1) // BLOCK, -1, -1):
        doc = db[BLOCKS].find_one({"_id": block_key(scope, term, block)}, {"refs": 1})
        out = []
        for ref in reversed(doc["refs"] if doc else ()):
            message_id, _, container = ref.partition(":")
            if message_id not in seen:
                seen.add(message_id)
                out.append((message_id, container))
        yield out


def read_numbers(db, conversation_id, low: int, high: int) -> dict[int, dict]:
    """Stored messages numbered low..high of a conversation, by number (whole buckets, an equality each)."""
    found: dict[int, dict] = {}
    for bucket in range(low // MESSAGES_BUCKET, high // MESSAGES_BUCKET + 1):
        for doc in db.messages.find({"bucket": f"{conversation_id}:{bucket}"}):
            if low <= doc.get("seq", -1) <= high:
                found[doc["seq"]] = doc
    return found


def buried(db, conversation_id, seq: int) -> bool:
    return db.message_tombstones.find_one({"channelId": conversation_id, "seq": seq}, {"_id": 1}) is not None


def catch_up(db, conversation_id: ObjectId, community_of: Callable, budget: int, settle_seconds: float,
             gap_seconds: float, still_mine: Callable[[], bool] = lambda: True) -> bool:
    """Index a conversation's messages numbered above its progress (up to `budget` of them), then move the
    progress past them; True when it reached the conversation's counter (gaps may be kept: the send that
    fills one marks its conversation again, and the catch-up it causes looks at the gaps first).

    The caller keeps other catchers-up of this conversation away (a lock) or accepts duplicate refs;
    `still_mine()` is asked before each write (False: the lock was lost, stop and return False).
    A number taken but neither stored nor buried (a send between its numbering and its insert) is waited
    for `settle_seconds`, then kept in the progress's `gaps` and looked at again by later catch-ups until
    it is stored (indexed then), buried, or `gap_seconds` old (a send that failed)."""
    progress = db[PROGRESS].find_one({"_id": conversation_id}) or {}
    done, gaps = progress.get("seq", 0), progress.get("gaps", [])
    counter = db.message_counters.find_one({"_id": conversation_id}, {"seq": 1})
    top = (counter or {}).get("seq", 0)
    now = time.time()
    kept = []
    for seq, since in gaps:
        doc = read_numbers(db, conversation_id, seq, seq).get(seq)
        if doc is not None:
            add(db, postings([doc], community_of))
        elif not buried(db, conversation_id, seq) and now - since < gap_seconds:
            kept.append([seq, since])
    complete = True
    while done < top:
        if budget <= 0:
            complete = False
            break
        high = min(top, done + min(budget, BATCH))
        found = read_numbers(db, conversation_id, done + 1, high)
        missing = [s for s in range(done + 1, high + 1) if s not in found and not buried(db, conversation_id, s)]
        deadline = time.monotonic() + settle_seconds
        while missing and time.monotonic() < deadline:  # numbered just now, being inserted
            time.sleep(0.02)
            found.update(read_numbers(db, conversation_id, min(missing), max(missing)))
            missing = [s for s in missing if s not in found and not buried(db, conversation_id, s)]
        if not still_mine():
            return False
        add(db, postings(found.values(), community_of))
        kept.extend([s, now] for s in missing)
        budget -= len(found)
        done = high
    if (done > progress.get("seq", 0) or kept != gaps) and still_mine():
        db[PROGRESS].update_one({"_id": conversation_id}, {"$max": {"seq": done}, "$set": {"gaps": kept}},
                                upsert=True)
    return complete
