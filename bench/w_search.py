"""Workload `search` (issue 20 item 6, docs/decisions/0049-search.md): GET /api/messages/search/community/:id
for a word in 1 % of the messages, limit=50, at 10k, 100k and 1M stored messages, cold and warm, on the
shared default store (FerretDB 1.24 on PostgreSQL) in a database of its own per size, Redis DB 6.

Each size is seeded in bulk, not through the API: messages numbered as the app numbers them
(kraken.messages.models.number) and inserted with insert_many in batches of 1,000; their index built in
memory in the app's layout (kraken.search.index: the app's own tokeniser and postings, blocks emitted as
they fill) and inserted the same way; each conversation's `search_progress` set to its counter, so a
search has nothing to catch up (as after the background task). The community has 20 channels: `hot`
holds half of the messages, `small` 0.5 %, `secret` (private, the caller is not in it) 5 %, 17 others
the rest. Words: 6-10 per message from a 5,000-word vocabulary (Zipf), plus `needle` in 1 % of them.

Then the store is settled as a live one is (bench/w_search.py settle_store: the GIN keeper's indexes are
waited for and the database's tables VACUUM ANALYZEd, as bench/scale_data.py does: a bulk load outruns
autovacuum).

Rows, in process through Flask's test client (no HTTP, no gevent), p99 of --samples requests each:
- community search, warm (repeated) and cold (Redis flushed before each request: permissions and the
  process's channel lists are read again; PostgreSQL's buffers stay warm): p99 <= 100 ms at 1M, and
  p99 at the largest size / at the smallest <= 3 (the issue's 1M / 10k);
- channel search on `small` (its own scope), and the same search read from the community's scope and
  filtered to the channel (what a design without channel scopes would do): information, the reason
  both scopes are written.

    KRAKEN_ENV=test .venv/bin/python bench/w_search.py 10000 100000 [1000000] [--samples 100]
    make bench ARGS="--only search"     (sizes: --search-messages)
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bson import ObjectId  # noqa: E402
from tests.redis_dbs import claim  # noqa: E402

WORD, LIMIT = "needle", 50
BATCH = 1000  # documents per insert_many (FerretDB: no big multi-statement writes)
VOCABULARY = 5000
REDIS_URL = f"redis://127.0.0.1:6379/{claim('bench search')}"


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


class IndexWriter:
    """The app's index layout built in memory: full blocks are inserted as they fill, the rest at the end."""

    def __init__(self, db, block: int):
        self.db, self.block = db, block
        self.n: dict[tuple[str, str], int] = {}
        self.partial: dict[tuple[str, str], list[str]] = {}
        self.out: list[dict] = []
        self.blocks = 0  # block documents written

    def add(self, entries) -> None:
        for key, refs in entries.items():
            for ref in refs:
                slot = self.n.get(key, 0)
                self.n[key] = slot + 1
                part = self.partial.setdefault(key, [])
                part.append(ref)
                if len(part) == self.block:
                    self._emit(key, slot // self.block, part)
                    del self.partial[key]
        if len(self.out) >= BATCH:
            self._flush()

    def _emit(self, key, block: int, refs) -> None:
        self.out.append({"_id": f"{key[0]}|{key[1]}|{block}", "refs": list(refs)})
        self.blocks += 1
        if len(self.out) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        from kraken.search.index import BLOCKS  # noqa: PLC0415 - after sys.path is set
        if self.out:
            self.db[BLOCKS].insert_many(self.out, ordered=False)
            self.out = []

    def finish(self) -> None:
        from kraken.search.index import HEADS  # noqa: PLC0415
        for key, part in self.partial.items():
            self._emit(key, (self.n[key] - 1) // self.block, part)
        self._flush()
        heads = [{"_id": f"{scope}|{term}", "n": n} for (scope, term), n in self.n.items()]
        for start in range(0, len(heads), BATCH):
            self.db[HEADS].insert_many(heads[start:start + BATCH], ordered=False)


def seed(app, size: int, rng: random.Random) -> dict:
    """A community, its 20 channels and `size` messages with their index; returns what the rows need."""
    from kraken.messages.models import Message, number  # noqa: PLC0415
    from kraken.search import index  # noqa: PLC0415
    from tests.factories import Factory  # noqa: PLC0415

    factory = Factory(app)
    admin, probe = factory.user("admin"), factory.user("probe")
    authors = [factory.user(f"author{i}").id for i in range(20)]
    community = factory.community(admin, "Search")
    factory.member(probe, community)
    channels = {"hot": factory.default_channel(community)}
    channels["small"] = factory.channel(community, admin, "small")
    channels["secret"] = factory.channel(community, admin, "secret", private=True)
    for k in range(17):
        channels[f"c{k}"] = factory.channel(community, admin, f"c{k}")
    names = list(channels)
    weights = [50.0, 0.5, 5.0] + [44.5 / 17] * 17
    vocabulary = [f"w{rank}{''.join(rng.choice('bcdfghjklmnpqrstvz') for _ in range(3))}" for rank in range(VOCABULARY)]
    zipf = [1.0 / (rank + 1) for rank in range(VOCABULARY)]
    community_of = {ch.id: community.id for ch in channels.values()}.get
    db = Message._get_collection().database
    index.ensure_collections(db)
    writer = IndexWriter(db, index.BLOCK)
    template = Message(channel_id=ObjectId(), author_id=authors[0], spans=[]).to_mongo()
    template.pop("_id", None)
    started, done, needles, visible = time.monotonic(), 0, 0, 0
    while done < size:
        batch = []
        for _ in range(min(BATCH, size - done)):
            words = rng.choices(vocabulary, zipf, k=rng.randint(6, 10))
            channel_name = rng.choices(names, weights)[0]
            channel = channels[channel_name]
            if rng.random() < 0.01:
                words.insert(rng.randrange(len(words) + 1), WORD)
                needles += 1
                visible += channel_name != "secret"
            batch.append(dict(template, _id=ObjectId(), channelId=channel.id, authorId=rng.choice(authors),
                              spans=[{"type": "PLAINTEXT", "text": " ".join(words)}]))
        number(batch)
        Message._get_collection().insert_many(batch, ordered=False)
        writer.add(index.postings(batch, community_of))
        done += len(batch)
    writer.finish()
    for channel in channels.values():
        counter = db.message_counters.find_one({"_id": channel.id}) or {"seq": 0}
        db[index.PROGRESS].insert_one({"_id": channel.id, "seq": counter["seq"], "gaps": []})
    print(f"  seeded {size} messages ({needles} with '{WORD}') and their index "
          f"({writer.blocks} blocks) in {time.monotonic() - started:.0f} s",  # a count of 1M-size collections times out
          flush=True)
    return {"community": community, "channels": channels, "visible": visible, "headers": {"Authorization":
                                                                      f"Bearer {factory.token(probe)}"}}


def settle_store(name: str, wait_s: float = 120) -> str:
    """What a live instance has and a bulk load has not yet: the GIN keeper's indexes on every table of the
    database (it finds tables a first insert created within a minute) and PostgreSQL's statistics
    and its vacuum (autovacuum would VACUUM ANALYZE a table loaded at once a little later: until then the
    planner takes the fresh tables for empty ones and the first reads of each page set its hint bits, that
    is write it). VACUUM ANALYZE only this database's tables, through psql on the
    shared PostgreSQL (KRAKEN_POSTGRES_PORT, 5433 as scripts/services.sh)."""
    port = os.environ.get("KRAKEN_POSTGRES_PORT", "5433")

    def psql(sql: str) -> str:
        done = subprocess.run(["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "ferretdb",
                               "-v", "ON_ERROR_STOP=1", "-tAc", sql], capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-400:])
        return done.stdout.strip()

    try:
        started, deadline = time.monotonic(), time.monotonic() + wait_s
        gin = (f"SELECT m._jsonb->>'table', (SELECT count(*) FROM pg_indexes i WHERE i.schemaname = '{name}' AND "
               f"i.tablename = m._jsonb->>'table' AND i.indexname LIKE '%\\_kg\\_%') "
               f"FROM \"{name}\"._ferretdb_database_metadata m")
        while True:
            rows = [line.split("|") for line in psql(gin).splitlines() if line]
            missing = [table for table, count in rows if int(count) == 0]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(2)
        for table, _ in rows:
            psql(f'VACUUM (ANALYZE) "{name}"."{table}"')
        return (f"GIN on {len(rows) - len(missing)}/{len(rows)} tables, VACUUM ANALYZE in "
                f"{time.monotonic() - started:.0f} s")
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return f"store not settled ({exc!r:.200})"


def measure(client, path: str, headers, samples: int, cold) -> tuple[list[float], list]:
    times, body = [], None
    for _ in range(samples):
        if cold is not None:
            cold()
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
    return times, body


def run_sizes(sizes: list[int], samples: int = 100) -> dict:
    """Seed and measure each size in a database of its own; returns {size: figures}."""
    from kraken.app import create_app  # noqa: PLC0415
    from kraken.config import load_settings  # noqa: PLC0415
    from kraken.extensions import redis  # noqa: PLC0415
    from kraken.search import service  # noqa: PLC0415
    from kraken.search.words import terms  # noqa: PLC0415

    results = {}
    for size in sizes:
        name = f"kraken_bench_search_{size}_{os.getpid()}"
        settings = load_settings().model_copy(update={"mongodb_url": f"mongodb://127.0.0.1:27017/{name}",
                                                      "redis_url": REDIS_URL, "rate_limits": False,
                                                      "log_level": "WARNING"})
        app = create_app(settings)
        with app.app_context():
            from mongoengine import get_db  # noqa: PLC0415
            try:
                redis.flushdb()
                world = seed(app, size, random.Random(size))
                print(f"  {settle_store(name)}", flush=True)
                client = app.test_client()
                path = f"/api/messages/search/community/{world['community'].id}?q={WORD}&limit={LIMIT}"
                measure(client, path, world["headers"], 5, None)
                warm, body = measure(client, path, world["headers"], samples, None)
                cold, _ = measure(client, path, world["headers"], samples, redis.flushdb)
                assert len(body) == min(LIMIT, world["visible"]) and all(WORD in item["spans"][0]["text"].split() for item in body)
                assert all(item["channelName"] != "secret" for item in body)
                assert [item["sentAt"] for item in body] == sorted((item["sentAt"] for item in body), reverse=True)
                small = world["channels"]["small"]
                channel_path = f"/api/messages/search/channel/{small.id}?q={WORD}&limit={LIMIT}"
                measure(client, channel_path, world["headers"], 3, None)
                channel_warm, channel_body = measure(client, channel_path, world["headers"], samples, None)
                own, filtered = str(small.id), []
                for _ in range(max(5, samples // 5)):
                    start = time.perf_counter()
                    found = service._hits(world["community"].id, terms(WORD), LIMIT, lambda c: c == own)
                    filtered.append((time.perf_counter() - start) * 1000)
                assert [str(m.id) for m in found] == [item["id"] for item in channel_body]
                results[size] = {"warm": warm, "cold": cold, "channel": channel_warm, "via_community": filtered,
                                 "channel_hits": len(channel_body)}
                print(f"{size:>8} stored: community search warm p50 {statistics.median(warm):.1f} "
                      f"p99 {percentile(warm, .99):.1f} ms, cold p50 {statistics.median(cold):.1f} "
                      f"p99 {percentile(cold, .99):.1f} ms; channel `small` ({len(channel_body)} hits) own scope "
                      f"p99 {percentile(channel_warm, .99):.1f} ms, from the community scope "
                      f"p99 {percentile(filtered, .99):.1f} ms", flush=True)
            finally:
                get_db().client.drop_database(name)
                redis.flushdb()
    return results


def rows(results: dict) -> list:
    """report.Row figures (bench/run.py): targets on the largest size and on largest / smallest."""
    from report import Row  # noqa: PLC0415 - bench/ is on sys.path under run.py
    sizes = sorted(results)
    out = []
    for size in sizes:
        for kind in ("cold", "warm"):
            out.append(Row("search", f"community search p99, {kind}, {size} msgs", percentile(results[size][kind], .99),
                           "ms", target=("<=", 100.0) if size == sizes[-1] else None))
        out.append(Row("search", f"channel search (own scope) p99, {size} msgs",
                       percentile(results[size]["channel"], .99), "ms"))
        out.append(Row("search", f"channel search read from the community scope p99, {size} msgs",
                       percentile(results[size]["via_community"], .99), "ms"))
    if len(sizes) > 1:
        for kind in ("cold", "warm"):
            out.append(Row("search", f"community search p99 {kind}, {sizes[-1]} / {sizes[0]} msgs",
                           percentile(results[sizes[-1]][kind], .99), "ms", baseline_name=f"{sizes[0]} msgs",
                           baseline=percentile(results[sizes[0]][kind], .99), target=("ratio<=", 3.0)))
    return out


def verdicts(results: dict) -> list[str]:
    sizes = sorted(results)
    lines = []
    for size in sizes:
        for kind in ("cold", "warm"):
            p99 = percentile(results[size][kind], .99)
            lines.append(f"community search {kind:>4} p99 at {size:>8}: {p99:6.1f} ms  "
                         f"{'PASS' if p99 <= 100 else 'FAIL'} (<= 100 ms; the target is at 1M)")
    if len(sizes) > 1:
        for kind in ("cold", "warm"):
            ratio = percentile(results[sizes[-1]][kind], .99) / percentile(results[sizes[0]][kind], .99)
            lines.append(f"community search {kind:>4} p99 {sizes[-1]} / {sizes[0]}: {ratio:.2f}  "
                         f"{'PASS' if ratio <= 3 else 'FAIL'} (<= 3; the target is 1M / 10k)")
    return lines


def run(cfg, details: dict) -> list:
    """bench/run.py entry: sizes from cfg.search_messages."""
    results = run_sizes(list(cfg.search_messages), cfg.search_samples)
    details["search"] = {size: {k: v for k, v in r.items()} for size, r in results.items()}
    for line in verdicts(results):
        print(line, flush=True)
    return rows(results)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10000, 100000, 1000000])
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
