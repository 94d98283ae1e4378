"""The users' search index: a substring of a username, e-mail or display name found by equality look-ups
(docs/decisions/0063-running-an-instance-from-the-client.md).

The default store answers only top-level equalities from an index (decision 0033), so a regex over
100k users reads them all. Instead each user has one posting per distinct trigram and per distinct
5-gram of those three fields (`user_grams`: the gram, the user's id and creation time, and the searched
text), and each gram a count of its postings (`user_gram_counts`, `_id` = the gram; a gram's length tells
which kind it is). A search of three or four characters reads the counts of its trigrams, a longer one
those of its 5-grams (`_id` look-ups), then the postings of the rarest one (one equality on `gram`), and
keeps those whose text holds the whole query. Shorter queries scan.

Why two lengths: a trigram is shared by many names, so for a longer query the rarest trigram can have
thousands of postings of which few match (at 100k users, "o.breo": 4,000 postings of "o.b", 1,000
matches, all created in three weeks of the year); the rarest 5-gram of a query of five or more
characters is nearly as selective as the query itself.
"""
from __future__ import annotations

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
    first = IntField()  # the earliest creation week among its postings
    last = IntField()  # the latest (neither shrinks when postings go: the weeks between are read, and empty)


def searched_text(username: str, email: str | None, display_name: str | None) -> str:
    return SEPARATOR.join(part.lower() for part in (username, email or "", display_name or "") if part)


def grams(text: str, sizes: tuple[int, ...] = (GRAM, LONG_GRAM)) -> set[str]:
    out = set()
    for part in text.split(SEPARATOR):
        for size in sizes:
            out.update(part[i:i + size] for i in range(len(part) - size + 1))
    return out


def period_of(created_at: datetime) -> int:
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=timezone.utc)
    return int(created_at.timestamp() // PERIOD_SECONDS)


def _postings(user_id: ObjectId, created_at: datetime, text: str) -> list[dict]:
    period = period_of(created_at)
    return [{"gram": g, "key": f"{g}|{period}", "userId": user_id, "createdAt": created_at, "text": text}
            for g in sorted(grams(text))]


def _count(changes: dict[str, int], period: int | None = None) -> None:
    """Add to the grams' counts; a count that reaches 0 goes (in order: the increments, then the drops)."""
    ops = [UpdateOne({"_id": g}, {"$inc": {"n": d}, **({"$min": {"first": period}, "$max": {"last": period}}
                                                       if d > 0 and period is not None else {})}, upsert=True)
           for g, d in changes.items() if d]
    ops += [DeleteOne({"_id": g, "n": {"$lte": 0}}) for g, d in changes.items() if d < 0]
    if ops:
        UserGramCount._get_collection().bulk_write(ops, ordered=True)


def index(user) -> None:
    """(Re)index one user after a creation or a change of username, e-mail or display name."""
    text = searched_text(user.username, user.email, user.display_name)
    old = {d["gram"]: d.get("text") for d in UserGram.objects(user_id=user.id).only("gram", "text").as_pymongo()}
    if old and set(old.values()) == {text}:
        return
    new = grams(text)
    UserGram.objects(user_id=user.id).delete()
    postings = _postings(user.id, user.created_at, text)
    if postings:
        UserGram._get_collection().insert_many(postings, ordered=False)
    _count({g: (g in new) - (g in old) for g in set(old) | new}, period_of(user.created_at))


def remove(user_id: ObjectId) -> None:
    old = set(UserGram.objects(user_id=user_id).scalar("gram"))
    UserGram.objects(user_id=user_id).delete()
    _count({g: -1 for g in old})


def newest_matches(query: str, before: datetime | None = None) -> Iterator[list[tuple[datetime, ObjectId]]] | None:
    """(createdAt, id) of the users whose username, e-mail or display name contains `query`
    (case-insensitive), in batches, newest first across batches; None when the query is too short for
    the index. `before`: only users created no later than its week are needed (a continuation).

    The rarest trigram's postings are read at once when there are few; else week by week from the
    newest (`key` equalities, a few weeks at a time), so the caller stops reading once its page is full."""
    query = query.strip().lower()
    if len(query) < GRAM or SEPARATOR in query:
        return None
    wanted = sorted(grams(query, (LONG_GRAM if len(query) >= LONG_GRAM else GRAM,)))
    counts = {doc.id: doc for doc in by_ids(UserGramCount, wanted)}
    if len(counts) < len(wanted) or min(c.n for c in counts.values()) <= 0:  # a gram no one has
        return iter(())
    rarest = min(counts.values(), key=lambda c: (c.n, c.id))
    collection = UserGram._get_collection()
    fields = {"userId": 1, "createdAt": 1, "text": 1, "_id": 0}

    def keep(docs) -> list[tuple[datetime, ObjectId]]:
        return sorted(((d["createdAt"], d["userId"]) for d in docs if query in d.get("text", "")), reverse=True)

    if rarest.n <= SCAN_AT_MOST or rarest.first is None:
        return iter((keep(collection.find({"gram": rarest.id}, fields)),))

    def weeks() -> Iterator[list[tuple[datetime, ObjectId]]]:
        top = period_of(before) if before is not None else period_of(datetime.now(timezone.utc)) + 1
        if rarest.last is not None:
            top = min(top, rarest.last)
        periods = list(range(top, rarest.first - 1, -1))
        for start in range(0, len(periods), PARALLEL):
            found = each(lambda p: list(collection.find({"key": f"{rarest.id}|{p}"}, fields)),
                         periods[start:start + PARALLEL])
            yield keep(d for docs in found for d in docs)

    return weeks()


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
