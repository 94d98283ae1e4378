"""Workload `admin` (issue 22, docs/decisions/0063-running-an-instance-from-the-client.md): the admin user
list with `search` (page 20) at N users, and `GET /api/instance/stats` at M messages and N users, on the
default store (FerretDB 1.24 on PostgreSQL) in a database of its own, Redis DB 14
(KRAKEN_BENCH_ADMIN_REDIS).

The issue's sizes are 100k users and 1M messages (`--users 100000 --messages 1000000`; seeding them
takes minutes); the default is a small size (2,000 users, 10,000 messages) so that a plain run is quick.

Seeding is in bulk, not through the API, in the app's own shapes: users from a `User(...).to_mongo()`
template (one argon2 hash shared by all), named `<first>.<last><n>` from 200 first and 500 last names
with a display name `<First> <Last>` and an e-mail `<first>.<last><n>@<one of 20 domains>`, created
evenly over the last year (the search index reads a common trigram week by week, newest first); the search
index built by the app's own `kraken.users.directory.rebuild`; one community with 20 channels and the
messages numbered by the app's `kraken.messages.models.number` and inserted with insert_many. The
statistics counters are not seeded: the first stats request counts (once), as after a Redis loss.
Then the store is settled as a live one is (bench/w_search.py settle_store: GIN keeper, VACUUM ANALYZE).

Rows, in process through Flask's test client (no HTTP), p99 of --samples requests each:
- `GET /api/users/admin/list?search=<q>&limit=20`, q drawn from last names, first names and username
  fragments (6-10 characters of a random user's name): p99 <= 100 ms at 100k users;
- `GET /api/users/admin/list?limit=20` without a search, the first page and pages deeper (continuation
  tokens 1-50 pages in): p99 <= 100 ms at 100k users (our own target, as the search's: the admin page
  opens on this list);
- `GET /api/instance/stats`: p99 <= 50 ms at 1M messages, 100k users (warm: the counters are held).

    KRAKEN_ENV=test .venv/bin/python bench/w_admin.py [--users 100000 --messages 1000000] [--samples 200]
    make bench ARGS="--only admin"     (sizes: --admin-users, --admin-messages)
Store: KRAKEN_BENCH_MONGODB (default mongodb://127.0.0.1:27017) and KRAKEN_POSTGRES_PORT for its PostgreSQL.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bson import ObjectId  # noqa: E402
from tests.redis_dbs import claim  # noqa: E402

REDIS_URL = os.environ.get("KRAKEN_BENCH_ADMIN_REDIS", f"redis://127.0.0.1:6379/{claim('bench admin')}")
BATCH = 1000
FIRST = [f"{a}{b}" for a in ("al", "be", "ca", "da", "el", "fa", "gi", "ha", "io", "ju") for b in
         ("ex", "na", "ri", "to", "mo", "la", "ve", "si", "do", "ka", "ne", "ro", "ta", "lu", "mi", "pe", "sa",
          "zo", "fe", "gu")]  # 200
LAST = [f"{a}{b}{c}" for a in ("sm", "br", "kl", "tr", "gr") for b in ("ai", "eo", "ui", "ay", "ow") for c in
        ("th", "nd", "rk", "ll", "mp", "ss", "ng", "ck", "ft", "rn", "st", "lt", "nt", "sk", "wn", "pt", "ld",
         "rd", "ct", "xt")]  # 500
DOMAINS = [f"mail{i}.example.org" for i in range(20)]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _name(i: int) -> tuple[str, str, str]:
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    username = f"{first}.{last}{i // (len(FIRST) * len(LAST))}"[:32]
    return username, f"{first.title()} {last.title()}", f"{username}@{DOMAINS[i % len(DOMAINS)]}"


def seed(app, users: int, messages: int) -> dict:
    from mongoengine import get_db  # noqa: PLC0415
    from kraken.auth.passwords import hash_password  # noqa: PLC0415
    from kraken.channels.models import Channel  # noqa: PLC0415
    from kraken.common.time import utcnow  # noqa: PLC0415
    from kraken.communities import service as communities  # noqa: PLC0415
    from kraken.messages.models import Message, number  # noqa: PLC0415
    from kraken.users import directory, service as users_service  # noqa: PLC0415
    from kraken.users.models import User  # noqa: PLC0415

    db = get_db()
    started = time.monotonic()
    owner = users_service.create_owner("root", "a long password")
    template = User(username="x", hashed_password=hash_password("a long password")).to_mongo().to_dict()
    base = utcnow() - timedelta(days=365)
    spacing = timedelta(days=365) / max(users, 1)  # registrations spread over a year, as an instance's are
    made, docs = [], []
    for i in range(users):
        username, display, email = _name(i)
        doc = {**template, "_id": ObjectId(), "username": username, "displayName": display, "email": email,
               "createdAt": base + i * spacing}
        docs.append(doc)
        if len(docs) == BATCH:
            db["users"].insert_many(docs)
            made += [{k: d[k] for k in ("_id", "username", "email", "displayName", "createdAt")} for d in docs]
            docs = []
    if docs:
        db["users"].insert_many(docs)
        made += [{k: d[k] for k in ("_id", "username", "email", "displayName", "createdAt")} for d in docs]
    users_at = time.monotonic()
    directory.rebuild(made, chunk=BATCH)
    index_at = time.monotonic()
    community = communities.create(owner, name="Bench", description=None, avatar=None, banner=None)
    from kraken.channels import service as channels  # noqa: PLC0415
    for k in range(18):
        channels.create(owner, community.id, name=f"c{k}", type="TEXT", is_private=False, description=None)
    channel_ids = list(Channel.objects(community_id=community.id, type="TEXT").scalar("id"))
    template = Message(author_id=owner.id, channel_id=channel_ids[0],
                       spans=[{"type": "PLAINTEXT", "text": "hello"}]).to_mongo().to_dict()
    rng = random.Random(messages)
    done = 0
    while done < messages:
        n = min(BATCH * 10, messages - done)
        batch = [{**template, "_id": ObjectId(), "channelId": rng.choice(channel_ids),
                  "authorId": made[rng.randrange(len(made))]["_id"] if made else owner.id} for _ in range(n)]
        number(batch)
        for i in range(0, n, BATCH):
            db["messages"].insert_many(batch[i:i + BATCH])
        done += n
    print(f"  seeded {users} users in {users_at - started:.0f} s, their search index in {index_at - users_at:.0f} s, "
          f"{messages} messages in {time.monotonic() - index_at:.0f} s", flush=True)
    return {"owner": owner, "users": made}


def queries(made: list[dict], count: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(count):
        kind = rng.randrange(3)
        if kind == 0:
            out.append(rng.choice(LAST))
        elif kind == 1:
            out.append(rng.choice(FIRST) + ".")
        else:
            name = rng.choice(made)["username"] if made else "root"
            start = rng.randrange(max(1, len(name) - 6))
            out.append(name[start:start + rng.randint(6, 10)])
    return out


def measure(client, paths: list[str], headers) -> tuple[list[float], list]:
    times, bodies = [], []
    for path in paths:
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.get_json())
        bodies.append(response.get_json())
    return times, bodies


def run_size(users: int, messages: int, samples: int = 200) -> dict:
    from kraken.app import create_app  # noqa: PLC0415
    from kraken.auth.service import start_session  # noqa: PLC0415
    from kraken.config import load_settings  # noqa: PLC0415
    from kraken.extensions import redis  # noqa: PLC0415
    from w_search import settle_store  # noqa: PLC0415

    name = f"kraken_bench_admin_{users}_{os.getpid()}"
    url = os.environ.get("KRAKEN_BENCH_MONGODB", "mongodb://127.0.0.1:27017").rstrip("/")
    settings = load_settings().model_copy(update={"mongodb_url": f"{url}/{name}", "redis_url": REDIS_URL,
                                                  "rate_limits": False, "log_level": "WARNING"})
    app = create_app(settings)
    with app.app_context():
        from mongoengine import get_db  # noqa: PLC0415
        try:
            redis.flushdb()
            world = seed(app, users, messages)
            print(f"  {settle_store(name)}", flush=True)
            client = app.test_client()
            headers = {"Authorization": f"Bearer {start_session(world['owner']).access_token}"}
            rng = random.Random(7)
            asked = queries(world["users"], samples, rng)
            paths = [f"/api/users/admin/list?search={q}&limit=20" for q in asked]
            measure(client, paths[:5], headers)
            search, bodies = measure(client, paths, headers)
            for q, body in zip(asked, bodies):  # every answer holds the query and is newest first
                rows = body["users"]
                assert all(q in f"{u['username']}\n{u['email']}\n{(u['displayName'] or '').lower()}" for u in rows)
                assert [u["createdAt"] for u in rows] == sorted((u["createdAt"] for u in rows), reverse=True)
            hits = [len(b["users"]) for b in bodies]
            newest = sorted(get_db()["users"].find({}, {"createdAt": 1}), key=lambda u: (u["createdAt"], u["_id"]),
                            reverse=True)  # the owner too
            deep = [""] + [f"&continuationToken={newest[20 * rng.randint(1, 50) - 1]['_id']}"
                           for _ in range(samples - 1)]
            plain, bodies = measure(client, [f"/api/users/admin/list?limit=20{t}" for t in deep], headers)
            for token, body in zip(deep, bodies):  # exactly the 20 next users by creation
                start = 0 if not token else next(i for i, u in enumerate(newest)
                                                 if str(u["_id"]) == token.rpartition("=")[2]) + 1
                assert [u["id"] for u in body["users"]] == [str(u["_id"]) for u in newest[start:start + 20]], token
            first_stats, body = measure(client, ["/api/instance/stats"], headers)
            assert body[0]["totalUsers"] == users + 1 and body[0]["totalMessages"] == messages, body
            stats, _ = measure(client, ["/api/instance/stats"] * samples, headers)
            result = {"users": users, "messages": messages, "search": search, "plain": plain, "stats": stats,
                      "stats_first_ms": first_stats[0], "hits_median": statistics.median(hits)}
            print(f"{users:>7} users / {messages:>8} messages: admin search p50 {statistics.median(search):.1f} "
                  f"p99 {percentile(search, .99):.1f} ms (median {result['hits_median']} rows); without search p50 "
                  f"{statistics.median(plain):.1f} p99 {percentile(plain, .99):.1f} ms; stats p50 "
                  f"{statistics.median(stats):.1f} p99 {percentile(stats, .99):.1f} ms (first, counting: "
                  f"{first_stats[0]:.0f} ms)", flush=True)
            return result
        finally:
            get_db().client.drop_database(name)
            redis.flushdb()


def rows(result: dict) -> list:
    from report import Row  # noqa: PLC0415 - bench/ is on sys.path under run.py
    full = result["users"] >= 100000
    out = [Row("admin", f"admin user list with search p99, page 20, {result['users']} users",
               percentile(result["search"], .99), "ms", target=("<=", 100.0) if full else None),
           Row("admin", f"admin user list without search p99, pages 1-50, {result['users']} users",
               percentile(result["plain"], .99), "ms", target=("<=", 100.0) if full else None),
           Row("admin", f"GET /api/instance/stats p99, {result['messages']} msgs, {result['users']} users",
               percentile(result["stats"], .99), "ms",
               target=("<=", 50.0) if full and result["messages"] >= 1000000 else None)]
    return out


def verdicts(result: dict) -> list[str]:
    search, stats = percentile(result["search"], .99), percentile(result["stats"], .99)
    plain = percentile(result["plain"], .99)
    return [f"admin search p99 at {result['users']} users: {search:.1f} ms  {'PASS' if search <= 100 else 'FAIL'} "
            f"(<= 100 ms; the target is at 100k users)",
            f"admin list without search p99 at {result['users']} users: {plain:.1f} ms  "
            f"{'PASS' if plain <= 100 else 'FAIL'} (<= 100 ms; our target, at 100k users)",
            f"instance stats p99 at {result['messages']} messages: {stats:.1f} ms  "
            f"{'PASS' if stats <= 50 else 'FAIL'} (<= 50 ms; the target is at 1M messages, 100k users)"]


def run(cfg, details: dict) -> list:
    """bench/run.py entry: sizes from cfg.admin_users and cfg.admin_messages."""
    result = run_size(cfg.admin_users, cfg.admin_messages, cfg.admin_samples)
    details["admin"] = result
    for line in verdicts(result):
        print(line, flush=True)
    return rows(result)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    result = run_size(args.users, args.messages, args.samples)
    print()
    lines = verdicts(result)
    for line in lines:
        print(line)
    return 0 if all("PASS" in line for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
