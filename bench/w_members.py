"""Workload `members` (issue 21 item 8, docs/decisions/0056): GET /api/membership/community/:id/search in a
community of 10,000 members (--member-sizes), cold and warm, on the default store (FerretDB 1.24 on
PostgreSQL), in a database of its own per size, Redis DB 6.

Each size is seeded in bulk, not through the API: users (username `m<rank><3 letters>`, a display name of
two words from a 400-word list) and their memberships inserted with insert_many in batches of 1,000, with
the name key the app writes; then the community's member directory is built by the app's own
`kraken.memberships.directory.rebuild` (what migration 0009 does; its time is reported) and the store is
settled as a live one is (w_search.settle_store: GIN keeper's indexes, VACUUM ANALYZE).

Rows, in process through Flask's test client (no HTTP, no gevent), p99 of --samples requests each, the
query rotating over 2-letter strings (each matching about 1-10 % of the members), limit 10 (the client's
default):
- member search warm (repeated) and cold (Redis flushed before each request: the caller's permissions
  and this process's user copies are read again; PostgreSQL's buffers stay warm): p99 <= 50 ms at 10k;
- the same with limit 50 (the cap), and with an empty query (everyone): information.
Every answer is checked against the seeded names (the right members, by username).

    KRAKEN_ENV=test .venv/bin/python bench/w_members.py 10000 [--samples 100]
    make bench ARGS="--only members"     (sizes: --member-sizes)
    KRAKEN_BENCH_MONGODB=mongodb://127.0.0.1:<port> KRAKEN_POSTGRES_PORT=<port>: another default store
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bson import ObjectId  # noqa: E402
from tests.redis_dbs import claim  # noqa: E402

BATCH = 1000
REDIS_URL = os.environ.get("KRAKEN_BENCH_REDIS", f"redis://127.0.0.1:6379/{claim('bench members')}")
QUERIES = ["an", "er", "ol", "ka", "mi", "ro", "te", "ul", "ba", "si"]
WORDS = [a + b + c for a in "bdklmnprst" for b in "aeiou" for c in ("n", "r", "l", "ka", "mo", "ti", "s", "")][:400]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def seed(app, size: int, rng: random.Random) -> dict:
    """A community with `size` members besides its creator; returns what the rows need."""
    from kraken.memberships import directory  # noqa: PLC0415 - after sys.path is set
    from kraken.memberships.models import MemberDirectory, Membership  # noqa: PLC0415
    from kraken.users.models import User  # noqa: PLC0415
    from tests.factories import Factory  # noqa: PLC0415

    factory = Factory(app)
    admin = factory.user("admin")
    community = factory.community(admin, "Members")
    started, names = time.monotonic(), {}
    users, memberships = User._get_collection(), Membership._get_collection()
    now = admin.created_at
    for start in range(0, size, BATCH):
        user_docs, member_docs = [], []
        for rank in range(start, min(size, start + BATCH)):
            username = f"m{rank}{''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(3))}"
            display = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"
            uid = ObjectId()
            names[str(uid)] = (username, display.lower())
            user_docs.append({"_id": uid, "username": username, "hashedPassword": "x", "role": "USER",
                              "verified": False, "displayName": display, "disabled": False, "createdAt": now})
            member_docs.append({"_id": ObjectId(), "userId": uid, "communityId": community.id, "joinedAt": now,
                                "nameKey": directory.name_key(User(username=username, display_name=display))})
        users.insert_many(user_docs, ordered=False)
        memberships.insert_many(member_docs, ordered=False)
    seeded = time.monotonic() - started
    started = time.monotonic()
    text = directory.rebuild(community.id)
    built = time.monotonic() - started
    stored = len(MemberDirectory.objects(id=community.id).get().data)
    names[str(admin.id)] = ("admin", "admin")
    print(f"  seeded {size} members in {seeded:.0f} s; directory built in {built:.1f} s "
          f"({len(text) / 1024:.0f} KiB of lines, {stored / 1024:.0f} KiB stored)", flush=True)
    return {"community": community, "names": names, "build_s": built, "directory_kib": len(text) / 1024,
            "headers": {"Authorization": f"Bearer {factory.token(admin)}"}}


def expected(names: dict, query: str, limit: int) -> list[str]:
    hits = sorted(u for u, d in names.values() if query in u or query in d)
    return hits[:limit]


def measure(client, world, limit: int, samples: int, cold, queries=QUERIES) -> list[float]:
    times = []
    path = f"/api/membership/community/{world['community'].id}/search"
    for i in range(samples):
        query = queries[i % len(queries)]
        if cold is not None:
            cold()
        start = time.perf_counter()
        response = client.get(f"{path}?query={query}&limit={limit}", headers=world["headers"])
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.get_json()
        got = [m["user"]["username"] for m in response.get_json()]
        assert got == expected(world["names"], query, limit), (query, got[:5])
    return times


def run_sizes(sizes: list[int], samples: int = 100) -> dict:
    from kraken.app import create_app  # noqa: PLC0415
    from kraken.config import load_settings  # noqa: PLC0415
    from kraken.extensions import redis  # noqa: PLC0415
    from w_search import settle_store  # noqa: PLC0415

    base = os.environ.get("KRAKEN_BENCH_MONGODB", "mongodb://127.0.0.1:27017")
    results = {}
    for size in sizes:
        name = f"kraken_bench_members_{size}_{os.getpid()}"
        settings = load_settings().model_copy(update={"mongodb_url": f"{base}/{name}", "redis_url": REDIS_URL,
                                                      "rate_limits": False, "log_level": "WARNING"})
        app = create_app(settings)
        with app.app_context():
            from mongoengine import get_db  # noqa: PLC0415
            try:
                redis.flushdb()
                world = seed(app, size, random.Random(size))
                print(f"  {settle_store(name)}", flush=True)
                client = app.test_client()
                measure(client, world, 10, 5, None)
                figures = {"warm": measure(client, world, 10, samples, None),
                           "cold": measure(client, world, 10, samples, redis.flushdb),
                           "warm_50": measure(client, world, 50, samples, None),
                           "cold_50": measure(client, world, 50, samples, redis.flushdb),
                           "all_cold": measure(client, world, 10, max(10, samples // 5), redis.flushdb, [""]),
                           "build_s": world["build_s"], "directory_kib": world["directory_kib"]}
                figures["loadavg"] = os.getloadavg()
                results[size] = figures
                print(f"{size:>8} members: search limit 10 warm p50 {statistics.median(figures['warm']):.1f} "
                      f"p99 {percentile(figures['warm'], .99):.1f} ms, cold p50 "
                      f"{statistics.median(figures['cold']):.1f} p99 {percentile(figures['cold'], .99):.1f} ms; "
                      f"limit 50 warm p99 {percentile(figures['warm_50'], .99):.1f}, cold p99 "
                      f"{percentile(figures['cold_50'], .99):.1f} ms; empty query cold p99 "
                      f"{percentile(figures['all_cold'], .99):.1f} ms (machine load average "
                      f"{figures['loadavg'][0]:.1f} on {os.cpu_count()} cores)", flush=True)
            finally:
                get_db().client.drop_database(name)
                redis.flushdb()
    return results


def rows(results: dict) -> list:
    from report import Row  # noqa: PLC0415 - bench/ is on sys.path under run.py
    out = []
    for size in sorted(results):
        r = results[size]
        for kind in ("cold", "warm"):
            out.append(Row("members", f"member search p99, {kind}, {size} members, limit 10",
                           percentile(r[kind], .99), "ms", target=("<=", 50.0) if size <= 10000 else None))
        for kind in ("cold_50", "warm_50"):
            out.append(Row("members", f"member search p99, {kind[:-3]}, {size} members, limit 50",
                           percentile(r[kind], .99), "ms"))
        out.append(Row("members", f"member search p99, cold, {size} members, empty query",
                       percentile(r["all_cold"], .99), "ms"))
        out.append(Row("members", f"member directory rebuild, {size} members", r["build_s"] * 1000, "ms"))
    return out


def verdicts(results: dict) -> list[str]:
    lines = []
    for size in sorted(results):
        for kind in ("cold", "warm"):
            p99 = percentile(results[size][kind], .99)
            lines.append(f"member search {kind:>4} p99 at {size:>6} members: {p99:6.1f} ms  "
                         f"{'PASS' if p99 <= 50 else 'FAIL'} (<= 50 ms)")
    return lines


def run(cfg, details: dict) -> list:
    """bench/run.py entry: sizes from cfg.member_sizes."""
    results = run_sizes(list(cfg.member_sizes), cfg.member_samples)
    details["members"] = results
    for line in verdicts(results):
        print(line, flush=True)
    return rows(results)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10000])
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args(argv)
    results = run_sizes(args.sizes, args.samples)
    print()
    lines = verdicts(results)
    for line in lines:
        print(line)
    return 0 if all("PASS" in line for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
