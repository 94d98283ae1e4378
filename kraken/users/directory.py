"""The users' search index: a substring of a username, e-mail or display name found by equality look-ups
(docs/decisions/0063-running-an-instance-from-the-client.md).

The default store answers only top-level equalities from an index (decision 0033), so a regex over
100k users reads them all. Instead each user has one posting per distinct trigram and per distinct
5-gram of those three fields (`user_grams`: the gram, the user's id and creation time, and the searched
text), and each gram a count of its postings (`user_gram_counts`, `_id` = the gram; a gram's length tells
which kind it is). A search of three or four characters reads the counts of its trigrams, a longer one
those of its 5-grams (`_id` look-ups), then the postings of the rarest one (one equality on `gram`), and
keeps those whose text holds the whole query. Shorter queries walk the postings of every user (below).

Why two lengths: a trigram is shared by many names, so for a longer query the rarest trigram can have
thousands of postings of which few match (at 100k users, "o.breo": 4,000 postings of "o.b", 1,000
matches, all created in three weeks of the year); the rarest 5-gram of a query of five or more
characters is nearly as selective as the query itself.

Every user also has two postings that hold no gram: `ALL`, keyed by the week of creation like the others,
and `ALL_HOURLY`, keyed by the hour. The list without a search (and a search of one or two characters)
walks one of them from the newest period (by the hour when a week holds more users than a round reads),
so a page of the newest users reads about a page of postings instead of every user.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone

from bson import ObjectId
from mongoengine import DateTimeField, Document, IntField, ObjectIdField, StringField
from pymongo import DeleteOne, UpdateOne

from kraken.common.lookups import PARALLEL, by_ids, each

GRAM = 3  # the shortest query the index answers
LONG_GRAM = 5  # queries at least this long are looked up by their 5-grams
SEPARATOR = "\n"  # never inside a field: a match cannot straddle two fields


PERIOD_SECONDS = 7 * 86400  # postings are also keyed by the week their user was created in
ALL = ""  # the "gram" every user has: the newest users, whatever their names, week by week
ALL_HOURLY = SEPARATOR  # the same, hour by hour (a week of a big instance holds thousands); never a gram
HOUR_SECONDS = 3600
MIN_SPAN = PARALLEL  # the look-ups of a round run PARALLEL at a time: fewer would only add rounds
MAX_SPAN = 512  # periods read in one round of a walk at most (rounds that find nothing double the span)
ROUND_POSTINGS = 100  # postings a round of a walk reads, at the gram's mean density
SCAN_AT_MOST = 400  # a rarest trigram with more postings is read week by week, newest first


class UserGram(Document):
    meta = {"collection": "user_grams",
            "indexes": [{"fields": ["gram"]}, {"fields": ["user_id"]}, {"fields": ["key"]}]}

    gram = StringField(required=True)
    key = StringField()  # "<gram>|<creation week>"
    user_id = ObjectIdField(required=True, db_field="userId")
    created_at = DateTimeField(db_field="createdAt")
    text = StringField()


class UserGramCount(Document):
    meta = {"collection": "user_gram_counts"}

    id = StringField(primary_key=True)  # the gram
    n = IntField(default=0)
    first = IntField()  # the earliest creation period (week; hour for ALL_HOURLY) among its postings
    last = IntField()  # the latest (neither shrinks when postings go: the periods between are read, and empty)


def searched_text(username: str, email: str | None, display_name: str | None) -> str:
    return SEPARATOR.join(part.lower() for part in (username, email or "", display_name or "") if part)


def grams(text: str, sizes: tuple[int, ...] = (GRAM, LONG_GRAM)) -> set[str]:
    out = set()
    for part in text.split(SEPARATOR):
        for size in sizes:
            out.update(part[i:i + size] for i in range(len(part) - size + 1))
    return out


def period_of(created_at: datetime, gram: str | None = None) -> int:
    """The creation period a posting of `gram` is keyed by: the week, or the hour for `ALL_HOURLY`."""
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=timezone.utc)
    return int(created_at.timestamp() // (HOUR_SECONDS if gram == ALL_HOURLY else PERIOD_SECONDS))


def _postings(user_id: ObjectId, created_at: datetime, text: str) -> list[dict]:
    return [{"gram": g, "key": f"{g}|{period_of(created_at, g)}", "userId": user_id, "createdAt": created_at,
             "text": text} for g in sorted(grams(text) | {ALL, ALL_HOURLY})]


def _count(changes: dict[str, int], created_at: datetime | None = None) -> None:
    """Add to the grams' counts; a count that reaches 0 goes (in order: the increments, then the drops)."""
    def bounds(g: str) -> dict:
        period = period_of(created_at, g)
        return {"$min": {"first": period}, "$max": {"last": period}}

    ops = [UpdateOne({"_id": g}, {"$inc": {"n": d}, **(bounds(g) if d > 0 and created_at is not None else {})},
                     upsert=True) for g, d in changes.items() if d]
    ops += [DeleteOne({"_id": g, "n": {"$lte": 0}}) for g, d in changes.items() if d < 0]
    if ops:
        UserGramCount._get_collection().bulk_write(ops, ordered=True)


def index(user) -> None:
    """(Re)index one user after a creation or a change of username, e-mail or display name."""
    text = searched_text(user.username, user.email, user.display_name)
    old = {d["gram"]: d.get("text") for d in UserGram.objects(user_id=user.id).only("gram", "text").as_pymongo()}
    if old and set(old.values()) == {text}:
        return
    new = grams(text) | {ALL, ALL_HOURLY}
    UserGram.objects(user_id=user.id).delete()
    UserGram._get_collection().insert_many(_postings(user.id, user.created_at, text), ordered=False)
    _count({g: (g in new) - (g in old) for g in set(old) | new}, user.created_at)


def remove(user_id: ObjectId) -> None:
    old = set(UserGram.objects(user_id=user_id).scalar("gram"))
    UserGram.objects(user_id=user_id).delete()
    _count({g: -1 for g in old})


def _per_period(count: UserGramCount) -> float:
    """The mean number of postings per period of creation between the gram's first and last."""
    if count.first is None or count.last is None:
        return float(count.n)
    return count.n / max(1, count.last - count.first + 1)


def newest_matches(query: str, before: datetime | None = None,
                   want: int | None = None) -> Iterator[list[tuple[datetime, ObjectId]]]:
    """(createdAt, id) of the users whose username, e-mail or display name contains `query`
    (case-insensitive; "" = every user), in batches, newest first across batches. `before`: only users
    created no later than its period are needed (a continuation). `want`: how many the caller needs
    (sizes a walk's rounds; it may read on).

    The rarest gram's postings are read at once when there are few; else period by period from the
    newest (`key` equalities, a few periods at a time, more while they come back empty), so the caller
    stops reading once its page is full. A query of one or two characters walks `ALL` or `ALL_HOURLY`."""
    query = query.strip().lower()
    if SEPARATOR in query:  # a match never spans two fields
        return iter(())
    if len(query) < GRAM:
        wanted = [ALL, ALL_HOURLY]
    else:
        wanted = sorted(grams(query, (LONG_GRAM if len(query) >= LONG_GRAM else GRAM,)))
    counts = {doc.id: doc for doc in by_ids(UserGramCount, wanted)}
    if len(counts) < len(wanted) or min(c.n for c in counts.values()) <= 0:  # a gram no one has
        return iter(())
    rarest = min(counts.values(), key=lambda c: (c.n, c.id))
    if rarest.id == ALL and _per_period(rarest) > ROUND_POSTINGS:
        rarest = counts[ALL_HOURLY]  # a week holds more than a round reads: by the hour
    collection = UserGram._get_collection()
    fields = {"userId": 1, "createdAt": 1, "text": 1, "_id": 0}

    def keep(docs) -> list[tuple[datetime, ObjectId]]:
        return sorted(((d["createdAt"], d["userId"]) for d in docs if query in d.get("text", "")), reverse=True)

    if rarest.n <= SCAN_AT_MOST or rarest.first is None:
        return iter((keep(collection.find({"gram": rarest.id}, fields)),))

    def periods() -> Iterator[list[tuple[datetime, ObjectId]]]:
        top = period_of(before or datetime.now(timezone.utc), rarest.id) + (before is None)
        if rarest.last is not None:
            top = min(top, rarest.last)
        # the first round reads about ROUND_POSTINGS postings at the gram's mean density; the next ones
        # as many periods as the matches found so far per period say the rest of `want` needs, twice as
        # many as the last after finding nothing
        span = min(MAX_SPAN, max(MIN_SPAN, math.ceil(ROUND_POSTINGS / max(_per_period(rarest), 1e-9))))
        read = matched = 0
        while top >= rarest.first:
            round_ = list(range(top, max(rarest.first, top - span + 1) - 1, -1))
            found = each(lambda p: list(collection.find({"key": f"{rarest.id}|{p}"}, fields)), round_)
            batch = keep(d for docs in found for d in docs)
            yield batch
            top -= len(round_)
            read, matched = read + len(round_), matched + len(batch)
            if not matched:
                span *= 2
            elif want is not None:
                span = math.ceil(max(1, want - matched) * read / matched)
            span = min(MAX_SPAN, max(MIN_SPAN, span))

    return periods()


def rebuild(users: Iterable[dict], collection=None, counts=None, chunk: int = 5000) -> int:
    """Index many users at once from raw documents (`_id`, `username`, `email`, `displayName`,
    `createdAt`): the migration of existing users and the benchmark's bulk seeding. Returns how many."""
    collection = collection if collection is not None else UserGram._get_collection()
    counts = counts if counts is not None else UserGramCount._get_collection()
    totals: dict[str, int] = {}
    firsts: dict[str, int] = {}
    lasts: dict[str, int] = {}
    batch: list[dict] = []
    done = 0
    for doc in users:
        text = searched_text(doc["username"], doc.get("email"), doc.get("displayName"))
        for posting in _postings(doc["_id"], doc.get("createdAt"), text):
            batch.append(posting)
            totals[posting["gram"]] = totals.get(posting["gram"], 0) + 1
            period = int(posting["key"].rpartition("|")[2])
            firsts[posting["gram"]] = min(firsts.get(posting["gram"], period), period)
            lasts[posting["gram"]] = max(lasts.get(posting["gram"], period), period)
        done += 1
        if len(batch) >= chunk:
            collection.insert_many(batch, ordered=False)
            batch = []
    if batch:
        collection.insert_many(batch, ordered=False)
    ops = [UpdateOne({"_id": g}, {"$inc": {"n": n}, "$min": {"first": firsts[g]}, "$max": {"last": lasts[g]}},
                     upsert=True)
           for g, n in totals.items()]
    for i in range(0, len(ops), chunk):
        counts.bulk_write(ops[i:i + chunk], ordered=False)
    return done
