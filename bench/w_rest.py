"""Workload 4: REST at fixed concurrency (wrk), against B1 (a trivial Flask JSON endpoint).

- GET /api/channels/community/:id and GET /api/roles/my/community/:id, permission cache warm;
- GET /api/messages/channel/:id?limit=50 with the channel's history grown step by step
  (--history-sizes): at each size one cold request (Redis flushed: nothing cached, the database
  answers) and three warm ones, then wrk while a warm request stays under --history-wrk-max-ms;
  sizes stop growing once a cold request would take longer than --history-max-request-s
  (reported as skipped, with the extrapolation that made it so).
Also `dbscan`: how FerretDB answers the queries Kraken makes (pushdown and cost per document).
"""
from __future__ import annotations

import statistics
import time

import requests
from bson import ObjectId

import harness
import seed
from spy import Profile
from report import Row


def _timed_get(url: str, headers: dict, timeout: float, check: bool = True) -> tuple[float, int]:
    """(milliseconds, HTTP status) of one GET; raises on a non-2xx status when `check`."""
    started = time.perf_counter()
    response = requests.get(url, headers=headers, timeout=timeout)
    if check:
        response.raise_for_status()
    return (time.perf_counter() - started) * 1000, response.status_code


def _wrk(server, url: str, cfg, headers: dict) -> dict:
    pids = {"server": server.worker_pid, **harness.db_pids()}
    with harness.CpuMeter(**pids) as cpu:
        res = harness.wrk(url, cfg.wrk_seconds, cfg.wrk_connections, headers)
    res["cpu_ms_per_request"] = {k: round(v / res["requests"] * 1000, 3) for k, v in cpu.used.items()} \
        if res["requests"] else None
    return res


def run(cfg, world, out_dir, details: dict) -> list[Row]:
    b1 = harness.baseline_server("b1").start()
    try:
        base = harness.wrk(b1.url + "/json", cfg.wrk_seconds, cfg.wrk_connections)
    finally:
        b1.stop()
    floors = _floors(cfg, world)
    server = harness.kraken_server(world.env).start()
    headers = {"Authorization": f"Bearer {world.tokens[0]}"}
    api = server.url + "/api"
    urls = {"channels": f"{api}/channels/community/{world.community_id}",
            "roles": f"{api}/roles/my/community/{world.community_id}",
            "history": f"{api}/messages/channel/{world.channel_id}?limit=50"}
    out = {"b1": base, **floors, "history": {}}
    try:
        for name in ("channels", "roles"):
            _timed_get(urls[name], headers, 30)  # warms the permission cache
            out[name] = _wrk(server, urls[name], cfg, headers)
        if cfg.profile:
            spy = Profile(server.worker_pid, cfg.wrk_seconds, out_dir / "rest-channels.raw")
            again = harness.wrk(urls["channels"], cfg.wrk_seconds, cfg.wrk_connections, headers)
            out["profile_channels"] = {**spy.finish(), "requests_per_s_while_profiled": again["requests_per_s"]}
        out["history"] = _history(cfg, world, server, urls["history"], headers)
    finally:
        server.stop()
    details["rest"] = out
    return _rows(cfg, out)


def _floors(cfg, world) -> dict:
    """B1r (B1 + one Redis round trip), B1a (+ a verified JWT) and B1s (B1 + the stack's extensions,
    no Redis): see baseline_wsgi.py."""
    import secrets
    import jwt as pyjwt
    secret, now = secrets.token_hex(32), int(time.time())
    token = pyjwt.encode({"sub": "bench", "jti": secrets.token_hex(8), "type": "access", "fresh": False,
                          "iat": now, "nbf": now, "exp": now + 3600}, secret, algorithm="HS256")
    env = {"BENCH_B1A_SECRET": secret, "BENCH_B1A_REDIS": world.settings.redis_url}
    out = {}
    bearer = {"Authorization": f"Bearer {token}"}
    for app, headers in (("b1r", None), ("b1a", bearer), ("b1s", bearer)):
        server = harness.baseline_server(app, env).start()
        try:
            out[app] = harness.wrk(server.url + "/json", cfg.wrk_seconds, cfg.wrk_connections, headers)
        finally:
            server.stop()
    return out


def _history(cfg, world, server, url: str, headers: dict) -> dict:
    """Grow the channel's history step by step; at each step one cold request (its Redis DB flushed
    first, as after a restart: nothing cached), three warm ones, then wrk while a warm one is fast.
    A size whose cold request would outlast --history-max-request-s (extrapolated from the last one
    measured) is still run warm, with the store isolated: the bench fills the cache itself."""
    from kraken.extensions import redis
    steps, stored, cold_ms, cold_at = {}, 0, None, 0
    for size in sorted(cfg.history_sizes):
        projected = cold_ms * size / cold_at / 1000 if cold_ms is not None else 0
        added = size - stored
        insert_s = seed.insert_messages(world, added)
        stored = size
        step = {"insert_seconds": round(insert_s, 1), "inserts_per_s": round(added / max(insert_s, 1e-6))}
        with world.app.app_context():
            redis.flushdb()  # direct inserts bypass the app's cache bookkeeping: start cold
        if projected > cfg.history_max_request_s:
            # FerretDB pushes down only `_id` equality (MongoDB answers from the index): the scan would
            # outlast Kraken's MongoDB timeout, so fill the cache as a first read would, then measure.
            step.update(cold_ms=None, cache_filled_by_bench=True, cold_skipped=(
                f"a cold request at {cold_at:,} messages took {cold_ms / 1000:.1f} s; linear extrapolation "
                f"{projected:.0f} s at {size:,} > --history-max-request-s; cache filled by the bench"))
            _fill_recent(world)
        else:
            cold_ms, status = _timed_get(url, headers, max(cfg.history_max_request_s * 3, 60), check=False)
            cold_at = size
            step.update(cold_ms=round(cold_ms, 1), cold_status=status)
            if status != 200:
                step["failed"] = f"the cold request answered {status} after {cold_ms / 1000:.1f} s"
                steps[size] = step
                print(f"    history at {size:,} messages: {step['failed']}", flush=True)
                break
        warm = [_timed_get(url, headers, 60)[0] for _ in range(3)]
        step.update(warm_ms=[round(p, 1) for p in warm], warm_median_ms=round(statistics.median(warm), 1))
        if step["warm_median_ms"] <= cfg.history_wrk_max_ms:
            step["wrk"] = _wrk(server, url, cfg, headers)
        else:
            step["wrk"] = None
            step["wrk_skipped"] = f"one request takes {step['warm_median_ms']:.0f} ms > {cfg.history_wrk_max_ms} ms"
        steps[size] = step
        print(f"    history at {size:,} messages: cold {step['cold_ms']} ms, warm {step['warm_median_ms']:.0f} ms",
              flush=True)
    return steps


def _fill_recent(world) -> None:
    """What a first history read stores: the newest messages as the app encodes them."""
    from kraken.messages import recent
    from kraken.messages.models import Message
    from kraken.messages.schemas import message_out
    with world.app.app_context():
        seen = recent.generation(world.channel_id)
        items = [recent.encode(message_out(Message._from_son(doc)), doc["seq"]) for doc in world.newest_messages]
        recent.fill(world.channel_id, seen, items, complete=False)


def _rows(cfg, out: dict) -> list[Row]:
    base = out["b1"]
    rows = []
    for name, path, target in (("channels", "GET /api/channels/community/:id", 0.7),
                               ("roles", "GET /api/roles/my/community/:id", 0.7)):
        res = out[name]
        rows.append(Row("4 REST", f"{path} req/s @ c={cfg.wrk_connections} (warm cache)", res["requests_per_s"],
                        "/s", "B1", base["requests_per_s"], ("ratio>=", target),
                        f"p50/p99 {res['p50_ms']}/{res['p99_ms']} ms (B1 {base['p50_ms']}/{base['p99_ms']}); "
                        f"CPU ms/request {res['cpu_ms_per_request']}; non-2xx {res['non_2xx']}",
                        [("no errors", res["non_2xx"] == 0 and res["socket_errors"] == 0)]))
    for app, what, note in (
            ("b1r", "B1 + one Redis round trip", "what any per-request check in Redis costs"),
            ("b1a", "B1 + verified JWT + one Redis revocation check",
             "stock flask-jwt-extended with a revocation round trip per request (Kraken holds the "
             "keys it checks while Redis tracks them: no round trip when warm)"),
            ("b1s", "B1 + the stack's per-request extensions (JWT, limiter off, CORS, request id)",
             "flask-jwt-extended, flask-limiter and flask-cors around B1 with nothing to look up: "
             "the floor of any Kraken request")):
        floor = out[app]
        rows.append(Row("4 REST", f"{app.upper()}: {what}, req/s @ c={cfg.wrk_connections} (informational)",
                        floor["requests_per_s"], "/s", "B1", base["requests_per_s"],
                        note=f"{note}; non-2xx {floor['non_2xx']}"))
    sizes = sorted(out["history"])
    for size in sizes:
        step = out["history"][size]
        if "failed" in step:
            text = f"FAILED: {step['failed']} (inserted at {step['inserts_per_s']}/s)"
            rows.append(Row("4 REST", f"history limit=50 @ {size:,} messages", None, "/s", "B1",
                            base["requests_per_s"], ("ratio>=", 0.5), text,
                            [("answered", "failed" not in step)]))
            continue
        res = step["wrk"]
        cold = (f"cold (empty Redis) {step['cold_ms']} ms" if step["cold_ms"] is not None
                else f"cold NOT RUN ({step['cold_skipped']})")
        note = f"one request: {cold}, warm {step['warm_median_ms']} ms; inserted at {step['inserts_per_s']}/s"
        if res is None:
            rows.append(Row("4 REST", f"history limit=50 @ {size:,} messages req/s", None, "/s", "B1",
                            base["requests_per_s"], ("ratio>=", 0.5), note + "; wrk skipped: " + step["wrk_skipped"]))
            rows.append(Row("4 REST", f"history @ {size:,}: one warm request (sequential)",
                            step["warm_median_ms"], "ms", target=("<=", 50)))
            continue
        note += f"; CPU ms/request {res['cpu_ms_per_request']}; non-2xx {res['non_2xx']}"
        rows.append(Row("4 REST", f"history limit=50 @ {size:,} messages req/s @ c={cfg.wrk_connections}",
                        res["requests_per_s"], "/s", "B1", base["requests_per_s"], ("ratio>=", 0.5), note,
                        [("p99 <= 50 ms", (res["p99_ms"] or 1e9) <= 50), ("no errors", res["non_2xx"] == 0)]))
        rows.append(Row("4 REST", f"history @ {size:,}: p99 @ c={cfg.wrk_connections}", res["p99_ms"], "ms",
                        "B1", base["p99_ms"], ("<=", 50)))
    run = [s for s in sizes if "warm_median_ms" in out["history"][s]]
    if len(run) >= 2:
        first, last = out["history"][run[0]], out["history"][run[-1]]
        span = f"{run[0]:,} → {run[-1]:,} messages"
        if first.get("wrk") and last.get("wrk"):
            rows.append(Row("4 REST", f"history p50 @ c={cfg.wrk_connections}, {span}", last["wrk"]["p50_ms"], "ms",
                            f"at {run[0]:,}", first["wrk"]["p50_ms"], ("ratio<=", 1.5), "flat means ratio ~1"))
        colds = [s for s in run if out["history"][s]["cold_ms"] is not None]
        if len(colds) >= 2:
            rows.append(Row("4 REST", f"history cold request (empty Redis), {colds[0]:,} → {colds[-1]:,} messages",
                            out["history"][colds[-1]]["cold_ms"], "ms", f"at {colds[0]:,}",
                            out["history"][colds[0]]["cold_ms"],
                            note="first page after a Redis flush/restart: the store answers it from the "
                                 "channel's newest buckets (kraken.messages.timeline)"))
    return rows


def dbscan(world, details: dict, docs: int = 10000) -> list[Row]:
    """Evidence for the report: what one lookup costs on this database, by query shape."""
    coll = world.mongo["bench_scan"]
    coll.drop()
    ids = [ObjectId() for _ in range(docs)]
    coll.insert_many([{"_id": i, "username": f"scan{n}", "disabled": False} for n, i in enumerate(ids)])

    def cost(filt: dict, runs: int = 3) -> float:
        started = time.perf_counter()
        for _ in range(runs):
            coll.find_one(filt)
        return round((time.perf_counter() - started) / runs * 1000, 2)

    res = {"docs": docs,
           "auth_lookup_first_ms": cost({"_id": ids[0], "disabled": {"$ne": True}}),
           "auth_lookup_last_ms": cost({"_id": ids[-1], "disabled": {"$ne": True}}),
           "id_only_last_ms": cost({"_id": ids[-1]}),
           "count_filter_ms": cost({"username": "none"}, 1)}
    plan = world.mongo["messages"].find({"channelId": ObjectId(world.channel_id)}).sort("_id", -1).limit(
        50).explain()
    res["history_plan"] = {k: plan.get(k) for k in ("filterPushdown", "sortPushdown", "limitPushdown")}
    coll.drop()
    details["dbscan"] = res
    per_doc_us = (res["auth_lookup_last_ms"] - res["auth_lookup_first_ms"]) / docs * 1000
    return [Row("db", f"User lookup {{_id, disabled}} at position {docs:,} (Kraken's auth query)",
                res["auth_lookup_last_ms"], "ms", "_id only", res["id_only_last_ms"],
                note=f"first position {res['auth_lookup_first_ms']} ms; ~{per_doc_us:.0f} µs per document scanned; "
                     f"history query pushdown {res['history_plan']}")]
