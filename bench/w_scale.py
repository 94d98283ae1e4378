"""Workload `scale` (issue 15): the hot queries on the default store from 10k to 1M stored messages and
1k to 100k users, cold (Redis flushed before each sample) and warm, against the issue's targets.

Stores of its own (bench/scale_data.py): PostgreSQL + FerretDB 1.24 (the new store, read by the app's
gunicorn servers), FerretDB 1.24 on SQLite (the old store) and Redis, on free loopback ports under a
temporary directory, all stopped at the end. Sizes grow in steps (--scale-messages, --scale-users):
users to the first size, messages to the first size, measure; messages up to each next size and
measure history; users up to each next size and measure the user rows; messages to the last size,
measure history, then `persisted` at the last size (and at the first, as information).

Rows (app rows through HTTP / Socket.IO against one fresh gunicorn server per step, KRAKEN_RATE_LIMITS=false):
1. GET /api/messages/channel/:hot?limit=50, the newest page and the page before the message 1,000
   positions from the newest (the hot channel holds 10% of all messages); p99 <= 50 ms at every size;
   cold p99 at the last size / at the first <= 1.5.
2. POST /api/auth/login minus argon2id verify alone (m=19456 KiB t=2 p=1, the app's production
   parameters, measured in this process right after each login): p99 <= 20 ms.
3. Socket.IO connect + `subscribeAll` (the server has it; `joinAll` x 20 as information) for a user in
   20 communities, who is offline before each sample so the connect announces them (the servers run
   with KRAKEN_PRESENCE_GRACE=0: a closed socket takes its user offline at once): p99 <= 50 ms.
4. GET /api/community/mine (20 communities) and GET /api/roles/my/community/:big (the big community,
   up to --scale-big-members members): p99 <= 30 ms.
5. persisted messages/s, two gunicorn processes sharing Redis, at the last size (the `persisted`
   workload's load generator command): >= 790/s, with 0 lost (acked but not stored) and every delivery.
6. the time to put the messages into the new store (numbering + insert_many), reported.
7. GET /api/messages/channel/:hot/around/:messageId?limit=50 on the message 100,000 positions back (the
   hot channel's oldest with a full page when it is shorter), cold and warm (issue 20): p99 <= 50 ms.
8-10. issue 20's conversations: DM history, unread counts, the send ack before and after
   (bench/w_scale_conversations.py).
Before (information): the old design's queries with pymongo on the SQLite store, next to the new
design's store-level queries (bucket reads by equality, per-id look-ups) on the PostgreSQL store. An old
query gets --scale-budget-s per sample (maxTimeMS and a socket timeout); past it the size is reported as
"> budget", the SQLite FerretDB is restarted (nothing left running) and larger sizes are skipped.
"""
from __future__ import annotations

import json
import subprocess
import time
import traceback

import requests
from bson import ObjectId

import harness
import w_scale_conversations as conversations
from common import ROOT, percentile
from report import Row
from scale_data import DB, PrivateStores, ScaleData
from seed import OWASP, PASSWORD

W = "15 scale"
AROUND_BACK = 100_000  # issue 20: around/:messageId on a message 100k back
HTTP_TIMEOUT = 30


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    return {"n": len(values), "p50_ms": round(percentile(values, 50), 2), "p90_ms": round(percentile(values, 90), 2),
            "p99_ms": round(percentile(values, 99), 2), "max_ms": round(max(values), 2),
            "mean_ms": round(sum(values) / len(values), 2), "first_ms": round(values[0], 2),
            "samples": [round(v, 2) for v in values]}


def _git_state() -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"head": git("rev-parse", "HEAD"), "dirty_app_files": git("status", "--porcelain", "kraken").splitlines()}


class _Budget:
    """Which old queries went past the per-sample budget, and at which size."""

    def __init__(self):
        self.over: dict[str, int] = {}


class Run:
    def __init__(self, cfg, res: dict):
        import redis
        self.cfg, self.res = cfg, res
        self.stores = PrivateStores()
        self.budget = _Budget()
        self.redis = None
        self._redis_mod = redis
        self.lg = None
        self.data: ScaleData | None = None

    # -- helpers -----------------------------------------------------------------------------------

    def flush(self) -> None:
        self.redis.flushdb()

    def series_open(self, count: int, started: float) -> bool:
        """Keep sampling: fewer than `count` samples and, past 5 of them, within --scale-series-s."""
        return count < self.cfg.scale_samples and (count < 5 or time.monotonic() - started < self.cfg.scale_series_s)

    def server(self, name: str = "kraken-scale") -> harness.Server:
        """`gunicorn -c gunicorn.conf.py wsgi:app` of the app under test (--scale-app) on a free port."""
        return harness.Server(name, [str(harness.VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                              self.app_dir, self.data.env, "/api/health/live").start(timeout=60)

    def counting_server(self) -> harness.Server:
        """Kraken with a pymongo command listener (gunicorn_count.py): where a request's time goes."""
        self.db_log = self.stores.root / f"db-commands-{time.monotonic_ns()}.log"
        self.db_log.touch()
        server = harness.Server("kraken-scale-count", [str(harness.VENV_BIN / "gunicorn"), "-c",
                                                       str(ROOT / "bench" / "gunicorn_count.py"), "wsgi:app"], self.app_dir,
                                {**self.data.env, "BENCH_DB_LOG": str(self.db_log)}, "/api/health/live").start(timeout=60)
        self.counting_pid = server.worker_pid
        return server

    def _redis_calls(self) -> int:
        return sum(v["calls"] for k, v in self.redis.info("commandstats").items() if k != "cmdstat_info")

    def diagnose(self, prepare, request, cold: bool) -> dict:
        """--scale-diag-samples requests on the counting server: database commands (by command and
        collection), time waiting on the store (pymongo's round trips, summed) and Redis commands per request.
        `prepare(i)` runs before each (not counted); cold: Redis flushed first; warm: one unmeasured request first."""
        n = self.cfg.scale_diag_samples
        if not cold:  # each request's user once first: their grants and copies are cached
            for i in range(n):
                prepare(i)
                request(i)
        per: list[dict] = []
        for i in range(n):
            prepare(i)
            if cold:
                self.flush()
            time.sleep(0.2)  # background work of the last request (a socket's disconnect) is over
            start = self.db_log.stat().st_size
            calls = self._redis_calls()
            cpu = self._diag_cpu()
            began = time.perf_counter()
            request(i)
            wall = (time.perf_counter() - began) * 1000
            cpu_ms = {k: round((v - cpu.get(k, v)) * 1000, 1) for k, v in self._diag_cpu().items()}
            redis_calls = self._redis_calls() - calls
            with open(self.db_log) as f:
                f.seek(start)
                lines = [line.split() for line in f if line.strip()]
            kinds: dict[str, int] = {}
            for _, name, target, _us in lines:
                kinds[f"{name} {target}"] = kinds.get(f"{name} {target}", 0) + 1
            times = [int(us) / 1000 for *_, us in lines]
            per.append({"wall_ms": wall, "db_commands": len(lines), "db_ms": sum(times),
                        "db_max_ms": max(times, default=0), "redis_commands": redis_calls, "kinds": kinds,
                        "cpu_ms": cpu_ms})
        kinds: dict[str, float] = {}
        for p in per:
            for k, v in p["kinds"].items():
                kinds[k] = kinds.get(k, 0) + v / n
        mean = lambda key: round(sum(p[key] for p in per) / n, 2)  # noqa: E731
        cpu_ms = {k: round(sum(p["cpu_ms"].get(k, 0) for p in per) / n, 1) for k in per[0]["cpu_ms"]}
        return {"samples": n, "wall_ms": mean("wall_ms"), "cpu_ms": cpu_ms, "db_commands": mean("db_commands"), "db_ms": mean("db_ms"),
                "db_ms_per_command": round(sum(p["db_ms"] for p in per) / max(1, sum(p["db_commands"] for p in per)), 3),
                "db_max_ms": round(max(p["db_max_ms"] for p in per), 2), "redis_commands": mean("redis_commands"),
                "by_command": {k: round(v, 2) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
                "per_sample": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in p.items() if k != "kinds"}
                               for p in per]}

    def _diag_cpu(self) -> dict[str, float]:
        """CPU seconds so far of the counting server's worker, FerretDB, and PostgreSQL's backends together
        (10 ms ticks: meaningful as a mean over the samples)."""
        out = {}
        for name, pid in (("kraken", self.counting_pid), ("ferretdb", self.stores.pid("new", "ferretdb"))):
            try:
                out[name] = harness.cpu_seconds(pid)
            except (OSError, ValueError, IndexError, TypeError):
                pass
        total = 0.0
        for pid in harness.children(self.stores.pid("new", "postgres") or 0):
            try:
                total += harness.cpu_seconds(pid)
            except (OSError, ValueError, IndexError):
                pass
        out["postgres"] = total
        return out

    # -- the run -----------------------------------------------------------------------------------

    def go(self) -> None:
        cfg, res = self.cfg, self.res
        deadline = time.monotonic() + cfg.scale_max_minutes * 60
        print(f"  scale: private stores under {self.stores.root}", flush=True)
        self.app_dir = self._app(cfg.scale_app)
        self.stores.start()
        self.redis = self._redis_mod.Redis.from_url(self.stores.redis_url, socket_timeout=30)
        users = sorted(cfg.scale_users)
        probes = min(cfg.scale_probes, users[0], cfg.scale_big_members)
        self.data = ScaleData(self.stores, communities=cfg.scale_communities, channels=cfg.scale_channels,
                              big_members=cfg.scale_big_members, probes=probes, app_dir=self.app_dir)
        res["setup"] = self.data.setup()
        res["setup"]["probe_users"] = probes
        print(f"  scale: instance set up in {res['setup']['seconds']} s ({res['setup']['communities']} communities, "
              f"{res['setup']['text_channels']} text channels)", flush=True)
        self.lg = harness.Loadgen("loadgen-scale")
        msgs = sorted(cfg.scale_messages)
        steps = [("users", users[0]), ("dms", users[0]), ("messages", msgs[0]), ("history", msgs[0]),
                 ("people", users[0])]
        if len(msgs) > 1:  # the same run's figure at the first size: what the store's size changes
            steps.append(("persisted", msgs[0]))
        steps += [s for m in msgs[1:-1] for s in (("messages", m), ("history", m))]
        steps += [s for u in users[1:] for s in (("users", u), ("people", u))]
        if len(msgs) > 1:
            steps += [("messages", msgs[-1]), ("history", msgs[-1])]
        steps += [("persisted", msgs[-1]), ("ack", msgs[-1])]
        for kind, size in steps:
            if time.monotonic() > deadline:
                res["skipped"].append(f"{kind} at {size:,}: --scale-max-minutes {cfg.scale_max_minutes} reached")
                print(f"  scale: skipped {kind} at {size:,} (time)", flush=True)
                continue
            started, cpu = time.monotonic(), _cpu_times()
            getattr(self, f"step_{kind}")(size)
            busy = _busy_pct(cpu, _cpu_times())
            res["machine"][f"{kind} {size}"] = {"cpu_busy_pct": busy, "loadavg": _loadavg(),
                                                "seconds": round(time.monotonic() - started, 1)}
            print(f"  [{time.strftime('%H:%M:%S')}] scale: {kind} at {size:,} done in "
                  f"{time.monotonic() - started:.0f} s; machine CPU busy {busy}% (load {_loadavg()}); disk "
                  f"{self.stores.disk_mb()}", flush=True)

    def _app(self, rev: str):
        """The app under test: the working tree as it is ("tree"), or a commit exported with `git archive`
        (other sessions edit the working tree while the bench runs: a commit holds still). The bench
        process builds its data with the same code (put first on sys.path before it imports kraken)."""
        import sys
        if rev == "tree":
            self.res["app"] = {"source": "working tree", **_git_state()}
            return ROOT
        commit = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        app_dir = self.stores.root / "app"
        app_dir.mkdir()
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(app_dir)], input=archive.stdout, check=True)
        if "kraken" in sys.modules and not str(sys.modules["kraken"].__file__).startswith(str(app_dir)):
            print("  scale: kraken is already imported from the working tree; the data is built with it", flush=True)
        sys.path.insert(0, str(app_dir))
        self.res["app"] = {"source": f"git archive of {rev}", "commit": commit,
                           "subject": subprocess.run(["git", "log", "-1", "--format=%s", commit], cwd=ROOT,
                                                     capture_output=True, text=True).stdout.strip()}
        print(f"  scale: the app under test is {commit[:10]} ({self.res['app']['subject'][:70]}), in {app_dir}",
              flush=True)
        return app_dir

    def close(self) -> None:
        if self.lg is not None:
            self.lg.close()
        if self.data is not None:
            self.data.reset_old_client()
        self.stores.stop()

    # -- growth ------------------------------------------------------------------------------------

    def step_users(self, size: int) -> None:
        load_old = not all(k in self.budget.over for k in ("username", "communities", "roles"))
        step = self.data.grow_users(size, load_old=load_old)
        step["settle"] = self.data.settle_store()
        self.res["inserts"]["users"][size] = step
        print(f"  scale: users to {size:,}: {step['documents']:,} documents, new store {step['new_s']} s, "
              f"old {step['old_s']} s{'' if load_old else ' (not loaded: every old query is past its budget)'}",
              flush=True)

    def step_dms(self, size: int) -> None:
        step = self.data.make_dms()
        self.res["inserts"]["dms"] = step
        print(f"  scale: {step['groups']:,} direct-message conversations in {step['seconds']} s", flush=True)

    def step_ack(self, size: int) -> None:
        conversations.step_ack(self, size)

    def step_messages(self, size: int) -> None:
        load_old = not all(k in self.budget.over for k in ("history_newest", "history_back"))
        step = self.data.grow_messages(size, load_old=load_old)
        step["settle"] = self.data.settle_store()
        self.res["inserts"]["messages"][size] = step
        print(f"  scale: messages to {size:,} (hot channel {self.data.hot_count:,}): new store {step['new_store_s']} s "
              f"({step['new_msgs_per_s']}/s incl. numbering {step['number_s']} s), old {step['old_s']} s"
              f"{'' if load_old else ' (not loaded: the old history queries are past their budget)'}; "
              f"VACUUM ANALYZE {step['settle']['vacuum_analyze_s']} s", flush=True)

    # -- 1. history --------------------------------------------------------------------------------

    def step_history(self, size: int) -> None:
        data = self.data
        top = data.last_seq(data.hot)
        back = min(1000, top - 51)
        token_doc = data.message_at(data.hot, top - back)
        # jump to a message (issue 20): around the message AROUND_BACK positions back (or the oldest with a
        # full older half), limit=50: 24 newer, the message, 24 older; the page's first is 24 above it
        anchor = max(25, top - AROUND_BACK)
        expect = {"newest": str(data.message_at(data.hot, top)["_id"]),
                  "back": str(data.message_at(data.hot, top - back - 1)["_id"]),
                  "around": str(data.message_at(data.hot, anchor + 24)["_id"])}
        out = {"hot_messages": top, "positions_back": back, "token": str(token_doc["_id"]),
               "around_back": top - anchor}
        base = f"/api/messages/channel/{data.hot}?limit=50"
        around = f"/api/messages/channel/{data.hot}/around/{data.message_at(data.hot, anchor)['_id']}?limit=50"
        paths = {"newest": base, "back": f"{base}&continuationToken={token_doc['_id']}", "around": around}
        checks = {"newest": lambda r: _page_ok(r, expect["newest"]), "back": lambda r: _page_ok(r, expect["back"]),
                  "around": lambda r: _page_ok(r, expect["around"], 49)}
        if data.hot_dm is not None:  # issue 20: rows 8 and 9
            more, more_checks = conversations.history_paths(data)
            out["conversations"] = more_checks.pop("info")
            paths.update(more)
            checks.update(more_checks)
        headers = {"Authorization": f"Bearer {data.token(0)}"}
        http = requests.Session()
        server = self.server()
        try:
            # a fresh process's first requests (imports, MongoEngine's index checks) are not what
            # "cold" means here (an empty Redis): one of each first, reported apart
            out["first_requests_ms"] = {}
            for kind, path in paths.items():
                self.flush()  # the database answers (the last server's cache entries are gone)
                began = time.perf_counter()
                http.get(server.url + path, headers=headers, timeout=HTTP_TIMEOUT)
                out["first_requests_ms"][kind] = round((time.perf_counter() - began) * 1000, 1)
            for mode in ("cold", "warm"):
                series = {k: [] for k in paths}
                wrong = 0
                if mode == "warm":
                    for path in paths.values():
                        http.get(server.url + path, headers=headers, timeout=HTTP_TIMEOUT)
                started = time.monotonic()
                while self.series_open(len(series["back"]), started):
                    for kind, path in paths.items():
                        if mode == "cold":
                            self.flush()
                        began = time.perf_counter()
                        response = http.get(server.url + path, headers=headers, timeout=HTTP_TIMEOUT)
                        series[kind].append((time.perf_counter() - began) * 1000)
                        wrong += not checks[kind](response)
                out[mode] = {k: _stats(v) for k, v in series.items()}
                out[mode]["wrong_pages"] = wrong
        finally:
            server.stop()
        if self.cfg.scale_diag_samples:
            counting = self.counting_server()
            try:
                for path in paths.values():  # the process's first requests
                    self.flush()
                    http.get(counting.url + path, headers=headers, timeout=HTTP_TIMEOUT)
                out["diagnosis"] = {kind: {mode: self.diagnose(
                    lambda i: None, lambda i, path=path: http.get(counting.url + path, headers=headers,
                                                                  timeout=HTTP_TIMEOUT), mode == "cold")
                    for mode in ("cold", "warm")} for kind, path in paths.items()}
            finally:
                counting.stop()
        http.close()
        self.res["history"][size] = out
        print(f"  scale: history at {size:,} (hot {top:,}): cold p99 newest {out['cold']['newest']['p99_ms']} / back "
              f"{out['cold']['back']['p99_ms']} ms, warm p99 {out['warm']['newest']['p99_ms']} / "
              f"{out['warm']['back']['p99_ms']} ms; around {out['around_back']:,} back cold / warm p99 "
              f"{out['cold']['around']['p99_ms']} / {out['warm']['around']['p99_ms']} ms", flush=True)
        self.res["store"]["history"][size] = self._store_history(size, token_doc["_id"], expect)

    def _store_history(self, size: int, token, expect: dict) -> dict:
        from kraken.messages.timeline import BUCKET
        data, hot = self.data, self.data.hot

        def new_page(below=None):
            db = data.new
            top = below - 1 if below is not None else db.message_counters.find_one({"_id": hot}, {"seq": 1})["seq"]
            found, bucket = [], top // BUCKET
            while bucket >= 0 and len(found) < 50:  # kraken.messages.timeline.older
                found.extend(db.messages.find({"bucket": f"{hot}:{bucket}", "seq": {"$lte": top}}).sort("seq", -1))
                bucket -= 1
            return found[:50]

        def new_back():
            at = data.new.messages.find_one({"_id": token}, {"channelId": 1, "seq": 1})  # timeline.position
            return new_page(at["seq"])

        budget_ms = int(self.cfg.scale_budget_s * 1000)

        def old_newest():
            return list(data.old(self.cfg.scale_budget_s + 10).messages.find({"channelId": hot}).sort(
                [("_id", -1)]).limit(50).max_time_ms(budget_ms))

        def old_back():
            return list(data.old(self.cfg.scale_budget_s + 10).messages.find(
                {"channelId": hot, "_id": {"$lt": token}}).sort([("_id", -1)]).limit(50).max_time_ms(budget_ms))

        first_is = lambda kind: lambda docs: len(docs) == 50 and str(docs[0]["_id"]) == expect[kind]  # noqa: E731
        # where a page's store time goes: one round trip for one document, one for a full bucket (64), the
        # same bucket with only `_id` returned, and PostgreSQL's own share (EXPLAIN ANALYZE of FerretDB's SQL)
        full = f"{hot}:{data.last_seq(hot) // BUCKET - 2}"
        one = ObjectId(expect["newest"])
        cost = {"id_lookup": self._new_series(lambda: data.new.messages.find_one({"_id": one}),
                                              lambda doc: doc is not None),
                "full_bucket": self._new_series(lambda: list(data.new.messages.find({"bucket": full})),
                                                lambda docs: len(docs) == BUCKET),
                "full_bucket_ids_only": self._new_series(
                    lambda: list(data.new.messages.find({"bucket": full}, {"_id": 1})), lambda docs: len(docs) == BUCKET),
                "pg_bucket": self._pg_explain("messages", "bucket", json.dumps(full)),
                "pg_id": self._pg_explain("messages", "_id", json.dumps(str(one)))}
        cost["ms_per_document"] = round((cost["full_bucket"]["p50_ms"] - cost["id_lookup"]["p50_ms"]) / (BUCKET - 1), 3)
        out = {"cost": cost,
               "new_newest": self._new_series(new_page, first_is("newest")),
               "new_back": self._new_series(new_back, first_is("back")),
               "old_newest": self._old_series("history_newest", size, old_newest, first_is("newest")),
               "old_back": self._old_series("history_back", size, old_back, first_is("back"))}
        try:
            plan = data.new.messages.find({"bucket": f"{hot}:0", "seq": {"$lte": 10 ** 9}}).sort("seq", -1).explain()
            out["new_bucket_plan"] = {k: plan.get(k) for k in ("filterPushdown", "sortPushdown", "limitPushdown")}
            out["new_bucket_plan"]["sql"] = json.dumps(plan.get("queryPlanner"), default=str)[:1500]
        except Exception as exc:
            out["new_bucket_plan"] = repr(exc)
        print(f"  scale: store-level costs at {size:,}: one document {cost['id_lookup']['p50_ms']} ms, a bucket of "
              f"{BUCKET} {cost['full_bucket']['p50_ms']} ms (ids only {cost['full_bucket_ids_only']['p50_ms']} ms), "
              f"{cost['ms_per_document']} ms per document; PostgreSQL's share: bucket {cost['pg_bucket']}, "
              f"_id {cost['pg_id']}", flush=True)
        print(f"  scale: store-level history at {size:,}: new p99 {out['new_newest']['p99_ms']} / "
              f"{out['new_back']['p99_ms']} ms; old {_old_text(out['old_newest'])} / {_old_text(out['old_back'])}",
              flush=True)
        return out

    def _pg_explain(self, collection: str, field: str, value: str) -> dict:
        """EXPLAIN ANALYZE of the statement FerretDB sends for `{field: value}` (its filter, `_jsonb->field @>`)."""
        try:
            table = self.stores.psql(f"SELECT _jsonb->>'table' FROM {DB}._ferretdb_database_metadata "
                                     f"WHERE _jsonb->>'_id' = '{collection}'")
            value = value.replace("'", "''")
            plans = [json.loads(self.stores.psql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT _jsonb FROM {DB}.\"{table}\" "
                f"WHERE _jsonb->'{field}' @> '{value}'::jsonb"))[0] for _ in range(5)]
            top = plans[-1]["Plan"]
            return {"execution_ms": sorted(p["Execution Time"] for p in plans)[2], "node": top["Node Type"],
                    "index": (top.get("Plans") or [{}])[0].get("Index Name") or top.get("Index Name"),
                    "rows": top.get("Actual Rows")}
        except Exception as exc:
            return {"error": repr(exc)[:300]}

    def _new_series(self, fn, check) -> dict:
        times, wrong = [], 0
        started = time.monotonic()
        while self.series_open(len(times), started):
            began = time.perf_counter()
            result = fn()
            times.append((time.perf_counter() - began) * 1000)
            wrong += not check(result)
        return {**_stats(times), "wrong": wrong}

    def _old_series(self, key: str, size: int, fn, check) -> dict:
        """An old query on the SQLite store: samples until --scale-old-seconds (at least 2), stopped at the
        first one past --scale-budget-s; then the size is "> budget" and larger sizes are skipped."""
        from pymongo.errors import ExecutionTimeout, NetworkTimeout, PyMongoError
        budget = self.cfg.scale_budget_s
        if key in self.budget.over:
            return {"skipped": f"past the {budget:g} s budget at {self.budget.over[key]:,}", "over_budget": True}
        times, wrong, over, error = [], 0, False, None
        started = time.monotonic()
        while len(times) < self.cfg.scale_samples and (len(times) < 2 or
                                                        time.monotonic() - started < self.cfg.scale_old_seconds):
            began = time.perf_counter()
            try:
                result = fn()
            except (ExecutionTimeout, NetworkTimeout) as exc:
                over, error = True, f"{type(exc).__name__} after {time.perf_counter() - began:.1f} s"
                break
            except PyMongoError as exc:
                error = repr(exc)[:300]
                break
            took = (time.perf_counter() - began) * 1000
            if took > budget * 1000:
                over, error = True, f"one sample took {took / 1000:.1f} s"
                break
            times.append(took)
            wrong += not check(result)
        if over:
            self.budget.over[key] = size
            self.stores.restart_old()  # whatever the timed-out query left running goes with it
            self.data.reset_old_client()
        return {**_stats(times), "wrong": wrong, "over_budget": over, "error": error, "budget_s": budget}

    # -- 2-4. users ---------------------------------------------------------------------------------

    def step_people(self, size: int) -> None:
        from argon2 import PasswordHasher
        from kraken.presence.service import ONLINE
        data, cfg = self.data, self.cfg
        probes = data.probes
        out = {"users": size, "probe_users": probes, "big_members": min(size, data.big_members)}
        tokens = [data.token(i) for i in range(probes)]
        hasher = PasswordHasher(**OWASP)
        names = [f"scale{data.rng.randrange(size)}" for _ in range(cfg.scale_samples)]
        paths = {"mine": "/api/community/mine", "roles": f"/api/roles/my/community/{data.big}"}
        http = requests.Session()

        def login(url: str, i: int):
            return requests.post(url + "/api/auth/login", json={"username": names[i % len(names)],
                                                                "password": PASSWORD}, timeout=HTTP_TIMEOUT)

        def offline(k: int) -> float | None:
            return self._offline(ONLINE, str(data.user_ids[k % probes]))

        def probe(url: str, event: str, k: int) -> dict:
            k %= probes
            args = {"mode": event}
            if event == "joinAll":
                args["communities"] = [str(data.communities[c]["id"]) for c in data._communities_of(k)]
            return self.lg.call("probe", url=url, token=tokens[k], timeout=60, **args)

        def rest(url: str, kind: str, k: int):
            return http.get(url + paths[kind], headers={"Authorization": f"Bearer {tokens[k % probes]}"},
                            timeout=HTTP_TIMEOUT)

        def first_requests(url: str) -> dict:
            """A fresh process's first requests of each kind (imports, MongoEngine's index checks), apart
            from the "cold" samples (an empty Redis)."""
            took = {}
            for name, fn in (("login", lambda: login(url, 0)), ("subscribeAll", lambda: probe(url, "subscribeAll", 0)),
                             ("joinAll", lambda: (offline(0), probe(url, "joinAll", 0))),
                             ("mine", lambda: rest(url, "mine", 0)), ("roles", lambda: rest(url, "roles", 0))):
                self.flush()  # the database answers (the last server's cache entries are gone)
                began = time.perf_counter()
                fn()
                took[name] = round((time.perf_counter() - began) * 1000, 1)
            offline(0)
            return took

        server = self.server()
        try:
            out["first_requests_ms"] = first_requests(server.url)
            # 2. login, minus argon2 verify alone (this process, same parameters, right after each login)
            out["login"] = {}
            for mode in ("cold", "warm"):
                logins, verifies, failed = [], [], 0
                if mode == "warm":
                    login(server.url, 0)
                started = time.monotonic()
                while self.series_open(len(logins), started):
                    if mode == "cold":
                        self.flush()
                    began = time.perf_counter()
                    response = login(server.url, len(logins))
                    logins.append((time.perf_counter() - began) * 1000)
                    failed += response.status_code != 200 or "accessToken" not in response.text
                    began = time.perf_counter()
                    hasher.verify(data.hashed, PASSWORD)
                    verifies.append((time.perf_counter() - began) * 1000)
                login_s, argon = _stats(logins), _stats(verifies)
                out["login"][mode] = {"login": login_s, "argon2_verify": argon, "failed": failed,
                                      "minus_p99_ms": _minus(login_s["p99_ms"], argon["p99_ms"]),
                                      "minus_p50_ms": _minus(login_s["p50_ms"], argon["p50_ms"])}
            # 3. connect + subscribeAll (joinAll x 20 as information), the user offline before each sample
            out["connect"] = {}
            for event in ("subscribeAll", "joinAll"):
                out["connect"][event] = {}
                for mode in ("cold", "warm"):
                    if mode == "warm":  # every probe user once, unmeasured: their grants and copies are cached
                        for k in range(probes):
                            offline(k)
                            probe(server.url, event, k)
                    replies = []
                    started = time.monotonic()
                    while self.series_open(len(replies), started):
                        k = len(replies)
                        waited = offline(k)
                        if mode == "cold":
                            self.flush()
                        reply = probe(server.url, event, k)
                        reply["waited_offline_s"] = waited
                        replies.append(reply)
                    out["connect"][event][mode] = {
                        "total": _stats([r["total_ms"] for r in replies]),
                        "connect": _stats([r["connect_ms"] for r in replies]),
                        "join": _stats([r["join_ms"] for r in replies]),
                        "exceptions": sum(r["exceptions"] for r in replies),
                        "still_online_before": sum(r["waited_offline_s"] is None for r in replies)}
            # 4. communities list and my roles in the big community
            out["rest"] = {}
            for mode in ("cold", "warm"):
                out["rest"][mode] = {}
                for kind in paths:
                    if mode == "warm":
                        for k in range(probes):
                            rest(server.url, kind, k)
                    times, wrong = [], 0
                    started = time.monotonic()
                    while self.series_open(len(times), started):
                        if mode == "cold":
                            self.flush()
                        began = time.perf_counter()
                        response = rest(server.url, kind, len(times))
                        times.append((time.perf_counter() - began) * 1000)
                        wrong += not _rest_ok(kind, response)
                    out["rest"][mode][kind] = {**_stats(times), "wrong": wrong}
        finally:
            server.stop()
        if cfg.scale_diag_samples:
            counting = self.counting_server()
            url = counting.url
            try:
                first_requests(url)
                nothing = lambda i: None  # noqa: E731
                out["diagnosis"] = {
                    "login": {m: self.diagnose(nothing, lambda i: login(url, i), m == "cold") for m in ("cold", "warm")},
                    **{event: {m: self.diagnose(offline, lambda i, e=event: probe(url, e, i), m == "cold")
                               for m in ("cold", "warm")} for event in ("subscribeAll", "joinAll")},
                    **{kind: {m: self.diagnose(nothing, lambda i, k=kind: rest(url, k, i), m == "cold")
                              for m in ("cold", "warm")} for kind in paths}}
            finally:
                counting.stop()
        http.close()
        self.res["users"][size] = out
        c, lo = out["connect"]["subscribeAll"], out["login"]
        print(f"  scale: users at {size:,}: login-argon2 p99 cold {lo['cold']['minus_p99_ms']} / warm "
              f"{lo['warm']['minus_p99_ms']} ms; connect+subscribeAll p99 cold {c['cold']['total']['p99_ms']} / warm "
              f"{c['warm']['total']['p99_ms']} ms; mine p99 cold {out['rest']['cold']['mine']['p99_ms']}, roles p99 "
              f"cold {out['rest']['cold']['roles']['p99_ms']} ms", flush=True)
        self.res["store"]["users"][size] = self._store_users(size)

    def _offline(self, key: str, uid: str, wait_s: float = 5) -> float | None:
        """Seconds waited until the user is offline (their last socket closed); None if still online."""
        started = time.monotonic()
        while self.redis.sismember(key, uid):
            if time.monotonic() - started > wait_s:
                return None
            time.sleep(0.01)
        return round(time.monotonic() - started, 3)

    def _store_users(self, size: int) -> dict:
        data, cfg = self.data, self.cfg
        budget_ms = int(cfg.scale_budget_s * 1000)
        uid, big = data.user_ids[0], data.big
        names = [f"scale{data.rng.randrange(size)}" for _ in range(cfg.scale_samples)]
        pick = iter(names * 4)
        old = lambda: data.old(cfg.scale_budget_s + 10)  # noqa: E731

        def new_username():
            return data.new.users.find_one({"username": next(pick)})

        def old_username():
            return old().users.find_one({"username": next(pick)}, max_time_ms=budget_ms)

        def new_communities():  # kraken.communities.service.mine: memberships, then one `_id` look-up each
            ids = [m["communityId"] for m in data.new.memberships.find({"userId": uid}, {"communityId": 1})]
            return [data.new.communities.find_one({"_id": i}) for i in ids]

        def old_communities():
            db = old()
            ids = [m["communityId"] for m in db.memberships.find({"userId": uid}, {"communityId": 1}).max_time_ms(
                budget_ms)]
            return list(db.communities.find({"_id": {"$in": ids}}).max_time_ms(budget_ms))

        def new_roles():  # user_roles of the community, then one `_id` look-up per role
            ids = [r["roleId"] for r in data.new.user_roles.find({"userId": uid, "communityId": big}, {"roleId": 1})]
            return [data.new.roles.find_one({"_id": i}) for i in ids]

        def old_roles():
            db = old()
            ids = [r["roleId"] for r in db.user_roles.find({"userId": uid, "communityId": big}, {"roleId": 1})
                   .max_time_ms(budget_ms)]
            return list(db.roles.find({"_id": {"$in": ids}}).max_time_ms(budget_ms))

        found = lambda doc: doc is not None  # noqa: E731
        twenty = lambda docs: len(docs) == 20 and all(d is not None for d in docs)  # noqa: E731
        member = lambda docs: len(docs) == 1 and docs[0] is not None and docs[0]["name"] == "Member"  # noqa: E731
        out = {"new_username": self._new_series(new_username, found),
               "old_username": self._old_series("username", size, old_username, found),
               "new_communities": self._new_series(new_communities, twenty),
               "old_communities": self._old_series("communities", size, old_communities, twenty),
               "new_roles": self._new_series(new_roles, member),
               "old_roles": self._old_series("roles", size, old_roles, member)}
        print(f"  scale: store-level users at {size:,}: new p99 username {out['new_username']['p99_ms']}, "
              f"communities {out['new_communities']['p99_ms']}, roles {out['new_roles']['p99_ms']} ms; old "
              f"{_old_text(out['old_username'])}, {_old_text(out['old_communities'])}, {_old_text(out['old_roles'])}",
              flush=True)
        return out

    # -- 5. persisted ------------------------------------------------------------------------------

    def step_persisted(self, size: int) -> None:
        """Senders on both processes into a channel of the big community (not the hot one, whose share of
        the history stays 10%: the same channel at every size), receivers in the community on both."""
        cfg, data = self.cfg, self.data
        members = min(len(data.user_ids), data.big_members)
        receivers = [data.token(i) for i in range(data.probes, data.probes + cfg.persist_receivers)]
        senders = [data.token(i) for i in range(members - cfg.persist_senders, members)]
        channel = data.communities[0]["text"][1]
        before = data.last_seq(channel)
        a, b = self.server("kraken-scale-a"), None
        lg = None
        try:
            b = self.server("kraken-scale-b")
            lg = harness.Loadgen("loadgen-scale-persist")
            for server in (a, b):
                lg.call("connect", url=server.url, protocol="kraken", target=str(data.big), role="receiver",
                        tokens=receivers, count=len(receivers))
                lg.call("connect", url=server.url, protocol="kraken", target=str(channel), role="sender",
                        tokens=senders, count=len(senders))
            pids = {"a": a.worker_pid, "b": b.worker_pid}
            for name, which, service in (("ferretdb", "new", "ferretdb"), ("redis", "new", "redis")):
                if self.stores.pid(which, service):
                    pids[name] = self.stores.pid(which, service)
            with harness.CpuMeter(**pids) as cpu:
                out = lg.call("persist", seconds=cfg.persist_seconds, window=cfg.persist_window,
                              timeout=cfg.persist_seconds + 90)
        finally:
            if lg is not None:
                lg.close()
            a.stop()
            if b is not None:
                b.stop()
        ids = out.pop("ids")
        after = data.last_seq(channel)
        stored: dict[str, int] = {}
        for bucket in range(before // 64, after // 64 + 1):  # the new numbers' buckets (timeline.BUCKET)
            for doc in data.new.messages.find({"bucket": f"{channel}:{bucket}"}, {"_id": 1, "seq": 1}):
                if doc["seq"] > before:
                    stored[str(doc["_id"])] = doc["seq"]
        seqs = sorted(stored.values())
        stored_at_start = data.messages
        data.messages += len(stored)  # they count towards the next size
        out.update(stored_at_start=stored_at_start, channel=str(channel), seq_before=before, seq_after=after, stored_new=len(stored),
                   lost=len(set(ids) - set(stored)), duplicate_acks=len(ids) - len(set(ids)),
                   duplicate_seqs=len(seqs) - len(set(seqs)), numbers_without_message=(after - before) - len(set(seqs)),
                   cpu_seconds={k: round(v, 2) for k, v in cpu.used.items()}, wall_s=round(cpu.wall, 1),
                   senders_per_process=cfg.persist_senders, receivers_per_process=cfg.persist_receivers)
        self.res["persisted"][size] = out
        print(f"  scale: persisted at {size:,}: {out['persisted_per_s']}/s, {out['acked']} acked, {out['lost']} lost, "
              f"{out['missing_deliveries']} deliveries missing", flush=True)


def _cpu_times() -> tuple[int, int]:
    """(all, idle) jiffies of the machine, from /proc/stat."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]


def _busy_pct(before: tuple[int, int], after: tuple[int, int]) -> float:
    total, idle = after[0] - before[0], after[1] - before[1]
    return round(100 * (1 - idle / total), 1) if total else 0.0


def _loadavg() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def _minus(a, b):
    return round(a - b, 2) if a is not None and b is not None else None


def _old_text(s: dict) -> str:
    if s.get("skipped"):
        return f"skipped ({s['skipped']})"
    if s.get("over_budget"):
        return f"> {s['budget_s']:g} s"
    return f"p99 {s['p99_ms']} ms" if s.get("p99_ms") is not None else f"error {s.get('error')}"


def _page_ok(response, first_id: str, count: int = 50) -> bool:
    if response.status_code != 200:
        return False
    messages = response.json().get("messages") or []
    return len(messages) == count and messages[0]["id"] == first_id


def _rest_ok(kind: str, response) -> bool:
    if response.status_code != 200:
        return False
    body = response.json()
    if kind == "mine":
        return len(body) == 20
    return any(r.get("name") == "Member" for r in body.get("roles", []))


def run(cfg, out_dir, details: dict) -> list[Row]:
    res = {"config": {k: getattr(cfg, k) for k in dir(cfg) if k.startswith(("scale_", "persist_"))}, "setup": None, "inserts": {"messages": {}, "users": {}}, "history": {}, "users": {},
           "store": {"history": {}, "users": {}}, "persisted": {}, "ack": {}, "skipped": [], "machine": {}}
    details["scale"] = res
    job = Run(cfg, res)
    try:
        job.go()
    except Exception as exc:
        traceback.print_exc()
        res["error"] = repr(exc)[:800]
    finally:
        job.close()
    return rows(cfg, res)


# -- the table ---------------------------------------------------------------------------------------

def rows(cfg, res: dict) -> list[Row]:
    out: list[Row] = []
    hist = res["history"]
    for size in sorted(hist):
        h = hist[size]
        for kind in ("newest", "back"):
            what = "newest page" if kind == "newest" else f"page {h['positions_back']:,} back"
            for mode in ("cold", "warm"):
                s = h[mode][kind]
                out.append(Row(W, f"1 history {what}, limit=50, {size:,} msgs (hot {h['hot_messages']:,}), {mode}: p99",
                               s["p99_ms"], "ms", target=("<=", 50),
                               note=f"p50 {s['p50_ms']}, max {s['max_ms']} ms, n {s['n']}" + _diag_note(h, kind, mode)
                                    + _machine_note(res, f"history {size}"),
                               extra_checks=[("right pages", h[mode]["wrong_pages"] == 0)]))
        if "around" in h["cold"]:
            for mode in ("cold", "warm"):
                s = h[mode]["around"]
                out.append(Row(W, f"7 around/:messageId on the message {h['around_back']:,} back, limit=50, {size:,} "
                                  f"msgs (hot {h['hot_messages']:,}), {mode}: p99", s["p99_ms"], "ms", target=("<=", 50),
                               note=f"p50 {s['p50_ms']}, max {s['max_ms']} ms, n {s['n']}"
                                    + ("" if h["around_back"] >= AROUND_BACK else
                                       f"; the hot channel is shorter than {AROUND_BACK:,}: its oldest full page")
                                    + _diag_note(h, "around", mode) + _machine_note(res, f"history {size}"),
                               extra_checks=[("right pages", h[mode]["wrong_pages"] == 0)]))
    sizes = sorted(hist)
    if len(sizes) >= 2:
        first, last = sizes[0], sizes[-1]
        for kind in ("newest", "back"):
            for mode in ("cold", "warm"):
                out.append(Row(W, f"1 history {kind} p99, {last:,} / {first:,} msgs, {mode}",
                               hist[last][mode][kind]["p99_ms"], "ms", f"at {first:,}", hist[first][mode][kind]["p99_ms"],
                               ("ratio<=", 1.5) if mode == "cold" else None,
                               note="" if mode == "cold" else "information (the issue's ratio is on cold pages)"))
    people = res["users"]
    for size in sorted(people):
        p = people[size]
        for mode in ("cold", "warm"):
            lo = p["login"][mode]
            out.append(Row(W, f"2 login minus argon2 verify, {size:,} users, {mode}: p99", lo["minus_p99_ms"], "ms",
                           target=("<=", 20),
                           note=f"login p99 {lo['login']['p99_ms']} (p50 {lo['login']['p50_ms']}) ms, argon2id verify "
                                f"(m=19456 KiB, t=2, p=1) p99 {lo['argon2_verify']['p99_ms']} (p50 "
                                f"{lo['argon2_verify']['p50_ms']}) ms; p50 difference {lo['minus_p50_ms']} ms; n "
                                f"{lo['login']['n']}" + _diag_note(p, "login", mode) + _machine_note(res, f"people {size}"),
                           extra_checks=[("all logged in", lo["failed"] == 0)]))
        for event in ("subscribeAll", "joinAll"):
            for mode in ("cold", "warm"):
                c = p["connect"][event][mode]
                label = "subscribeAll" if event == "subscribeAll" else "joinAll x 20"
                out.append(Row(W, f"3 connect + {label} + presence, 20 communities, {size:,} users, {mode}: p99",
                               c["total"]["p99_ms"], "ms", target=("<=", 50) if event == "subscribeAll" else None,
                               note=f"p50 {c['total']['p50_ms']} ms; connect p50/p99 {c['connect']['p50_ms']}/"
                                    f"{c['connect']['p99_ms']}, {event} p50/p99 {c['join']['p50_ms']}/"
                                    f"{c['join']['p99_ms']} ms; n {c['total']['n']}"
                                    + ("" if event == "subscribeAll" else "; information (the a169fe1 client)")
                                    + _diag_note(p, event, mode) + _machine_note(res, f"people {size}"),
                               extra_checks=[("no exception, announced (offline before)",
                                              c["exceptions"] == 0 and c["still_online_before"] == 0)]
                               if event == "subscribeAll" else []))
        for kind, what in (("mine", "GET /api/community/mine (20 communities)"),
                           ("roles", f"GET /api/roles/my/community/:id ({p['big_members']:,} members)")):
            for mode in ("cold", "warm"):
                s = p["rest"][mode][kind]
                out.append(Row(W, f"4 {what}, {size:,} users, {mode}: p99", s["p99_ms"], "ms", target=("<=", 30),
                               note=f"p50 {s['p50_ms']}, max {s['max_ms']} ms, n {s['n']}" + _diag_note(p, kind, mode)
                                    + _machine_note(res, f"people {size}"),
                               extra_checks=[("right answers", s["wrong"] == 0)]))
    persisted = res["persisted"]
    for size in sorted(persisted):
        per = persisted[size]
        last = size == max(persisted)
        out.append(Row(W, f"5 persisted messages/s, 2 processes, {per['stored_at_start']:,} stored",
                       per["persisted_per_s"], "/s", target=(">=", 790) if last else None,
                       note=f"{per['acked']} acked, {per['stored_new']} stored, {per['lost']} lost (acked, not stored), "
                            f"{per['missing_deliveries']} deliveries missing, {per['send_errors']} send errors, "
                            f"duplicate seqs {per['duplicate_seqs']}; {per['senders_per_process']} senders x window "
                            f"{per['window']} per process; CPU s {per['cpu_seconds']} in {per['wall_s']} s; app CPU "
                            f"{(per['cpu_seconds'].get('a', 0) + per['cpu_seconds'].get('b', 0)) / max(per['acked'], 1) * 1000:.2f}"
                            f" ms/message" + _machine_note(res, f"persisted {size}")
                            + ("" if last else "; information: the same run at the first size (the target is at the last)"),
                       extra_checks=[("0 lost", per["lost"] == 0), ("every delivery", per["missing_deliveries"] == 0)]))
    if len(persisted) >= 2:
        first, last = persisted[min(persisted)], persisted[max(persisted)]
        out.append(Row(W, f"5 persisted messages/s, {last['stored_at_start']:,} / {first['stored_at_start']:,} stored",
                       last["persisted_per_s"], "/s", f"at {first['stored_at_start']:,}", first["persisted_per_s"],
                       note="information: what the store's size changes, same run"))
    ins = res["inserts"]["messages"]
    if ins:
        last = max(ins)
        new_s = sum(s["new_store_s"] for s in ins.values())
        old = [s for s in ins.values() if s["old_loaded"]]
        steps = "; ".join(f"to {k:,}: {s['new_store_s']} s ({s['new_msgs_per_s']}/s, numbering {s['number_s']} s), "
                          f"VACUUM ANALYZE {s['settle']['vacuum_analyze_s']} s" for k, s in sorted(ins.items()))
        out.append(Row(W, f"6 insert {last:,} messages into the new store (numbered, insert_many)", new_s, "s",
                       note=f"{steps}; generating the documents took {sum(s['build_s'] for s in ins.values()):.1f} s more"))
        out.append(Row(W, f"6 insert into the old store (SQLite), up to {max(s['to'] for s in old) if old else 0:,}",
                       sum(s["old_s"] for s in old), "s",
                       note="; ".join(f"to {k:,}: {s['old_s']} s ({s['old_msgs_per_s']}/s)" if s["old_loaded"] else
                                      f"to {k:,}: not loaded" for k, s in sorted(ins.items()))))
    budget = cfg.scale_budget_s
    for size in sorted(res["store"]["history"]):
        s = res["store"]["history"][size]
        c = s.get("cost")
        if c:
            out.append(Row(f"{W} before", f"store p50: a bucket read of 64 messages on PostgreSQL+FerretDB, {size:,} msgs "
                           f"(baseline: one message by _id)", c["full_bucket"]["p50_ms"], "ms", "one document",
                           c["id_lookup"]["p50_ms"],
                           note=f"{c['ms_per_document']} ms per document in FerretDB; the same bucket returning only "
                                f"_id {c['full_bucket_ids_only']['p50_ms']} ms; PostgreSQL executes FerretDB's SQL in "
                                f"{c['pg_bucket'].get('execution_ms')} ms (bucket, {c['pg_bucket'].get('node')} on "
                                f"{c['pg_bucket'].get('index')}) and {c['pg_id'].get('execution_ms')} ms (_id)"))
        back = res["history"].get(size, {}).get("positions_back", 1000)
        for kind, what in (("newest", "newest page"), ("back", f"page {back:,} back")):
            out.append(_store_row(f"history {what}, {size:,} msgs", "bucket reads by equality",
                                  "find({channelId}).sort(_id -1).limit(50)" + (" + _id $lt" if kind == "back" else ""),
                                  s[f"new_{kind}"], s[f"old_{kind}"], budget))
    for size in sorted(res["store"]["users"]):
        s = res["store"]["users"][size]
        for key, what, new_how, old_how in (
                ("username", "find_one({username})", "GIN look-up", "scan"),
                ("communities", "a user's 20 communities", "memberships + 20 _id look-ups",
                 "memberships + communities {_id: {$in}}"),
                ("roles", "my roles in the big community", "user_roles + _id look-ups", "user_roles + roles {$in}")):
            out.append(_store_row(f"{what}, {size:,} users", new_how, old_how, s[f"new_{key}"], s[f"old_{key}"], budget))
    out += conversations.rows(res, _diag_note, _machine_note)
    if res.get("error"):
        out.append(Row(W, "error", None, "", target=("<=", 0), note=res["error"], extra_checks=[("ran", False)]))
    for skipped in res["skipped"]:
        out.append(Row(W, "skipped", None, "", note=skipped))
    return out


def _machine_note(res: dict, step: str) -> str:
    m = res["machine"].get(step)
    return f"; machine CPU busy {m['cpu_busy_pct']}% during the step (load {m['loadavg']})" if m else ""


def _diag_note(step: dict, key: str, mode: str) -> str:
    d = ((step.get("diagnosis") or {}).get(key) or {}).get(mode)
    if not d:
        return ""
    top = ", ".join(f"{k} x{v:g}" for k, v in list(d["by_command"].items())[:4])
    return (f"; counted ({d['samples']} requests): {d['db_commands']:g} database commands/request ({top}), "
            f"{d['db_ms']:g} ms waiting on the store ({d['db_ms_per_command']:g} ms each, slowest {d['db_max_ms']:g}), "
            f"{d['redis_commands']:g} Redis commands (with those run by Lua scripts), {d['wall_ms']:g} ms in all; CPU "
            f"ms/request: " + ", ".join(f"{k} {v:g}" for k, v in d.get("cpu_ms", {}).items()))


def _store_row(what: str, new_how: str, old_how: str, new: dict, old: dict, budget: float) -> Row:
    if old.get("skipped") or old.get("over_budget"):
        base_name, base = f"before > {budget:g} s", None
        old_note = old.get("skipped") or old.get("error")
    else:
        base_name, base = "before", old.get("p99_ms")
        old_note = f"p50 {old.get('p50_ms')} ms, n {old.get('n')}" + (f", error {old['error']}" if old.get("error") else "")
    return Row(f"{W} before", f"store p99: {what} (new on PostgreSQL: {new_how}; before on SQLite: {old_how})",
               new["p99_ms"], "ms", base_name, base,
               note=f"new p50 {new['p50_ms']} ms, n {new['n']}, wrong {new['wrong']}; before: {old_note}"
                    + (f", wrong {old['wrong']}" if old.get("wrong") else ""))
