"""Workloads 1 and 2a: fan-out latency (the curve) and delivery throughput, Kraken against B0 (and B2).

One "session" per server: a fresh server, one Node load generator, receivers added in steps
(100 → 500 → 1,000 → 2,000) so each step reuses the sockets of the last. Once the first step is
connected, a few warm-up messages go unmeasured (reported on their own: a fresh server's first
message fills its caches); then at each step the sender sends `messages` at `rate`/s (open loop)
and every receiver reports send→receive latency. At the
main size (500) the session also runs the closed-loop throughput test (a window of messages in
flight, each complete when every receiver has it) and, with profiling, a py-spy'd fan-out.

Kraken's sockets are authenticated members spread round-robin over `users` accounts (see run.py
--users: FerretDB scans a collection per lookup, so many accounts make connecting slow); every
socket receives every message either way.
"""
from __future__ import annotations

from pathlib import Path

import harness
from spy import Profile
from report import Row

WARMUP_MESSAGES = 5
SERVERS = {
    "kraken": "Kraken (full path)",
    "b0": "B0 python-socketio bare",
    "b0r": "B0r python-socketio + RedisManager",
    "b2": "B2 Node socket.io bare",
}


def _server(kind: str, world) -> harness.Server:
    if kind == "kraken":
        return harness.kraken_server(world.env)
    if kind == "b0":
        return harness.baseline_server("b0")
    if kind == "b0r":
        return harness.baseline_server("b0", {"BENCH_B0_REDIS": world.settings.redis_url}, name="b0r")
    return harness.node_server()


def _protocol_args(kind: str, world, role: str) -> dict:
    if kind != "kraken":
        return {"protocol": "bare", "target": "bench-room"}
    if role == "sender":
        return {"protocol": "kraken", "target": world.channel_id, "tokens": [world.owner_token]}
    return {"protocol": "kraken", "target": world.community_id, "tokens": world.tokens}


def session(kind: str, cfg, world, sizes: list[int], out_dir: Path, profile: bool) -> dict:
    """Fan-out at each size (and throughput + profile at cfg.fanout_main) against one fresh server."""
    server = _server(kind, world).start()
    lg = harness.Loadgen(f"loadgen-{kind}")
    result = {"server": SERVERS[kind], "fanout": {}, "throughput": None, "profile": None}
    try:
        lg.call("connect", url=server.url, count=1, role="sender", **_protocol_args(kind, world, "sender"))
        connected = 0
        for n in sorted(sizes):
            step = lg.call("connect", url=server.url, count=n - connected, role="receiver", concurrency=50,
                           timeout=600, **_protocol_args(kind, world, "receiver"))
            connected = step["receivers"]
            if "warmup" not in result:
                # steady state is measured: every server first sends a few messages unmeasured (Kraken's
                # first one fills its caches: the sender's permissions, the channel); reported apart
                result["warmup"] = lg.call("fanout", messages=WARMUP_MESSAGES, rate=cfg.rate, timeout=60)
                result["warmup"]["receivers"] = connected
            messages = cfg.messages_main if n == cfg.fanout_main else cfg.messages_curve
            pids = {"server": server.worker_pid, "loadgen": lg.pid, **harness.db_pids()}
            with harness.CpuMeter(**pids) as cpu:
                fan = lg.call("fanout", messages=messages, rate=cfg.rate, timeout=messages / cfg.rate + 60)
            fan.update(connect_seconds=step["seconds"], connect_failed=step["failed"],
                       cpu_seconds={k: round(v, 2) for k, v in cpu.used.items()},
                       server_cpu_us_per_delivery=_per(cpu.used["server"], fan["deliveries"]))
            result["fanout"][n] = fan
            if n != cfg.fanout_main:
                continue
            with harness.CpuMeter(**pids) as cpu:
                sat = lg.call("saturate", seconds=cfg.throughput_seconds, window=cfg.throughput_window,
                              timeout=cfg.throughput_seconds + 60)
            sat.update(cpu_seconds={k: round(v, 2) for k, v in cpu.used.items()},
                       server_cpu_share=round(cpu.used["server"] / cpu.wall, 2),
                       server_cpu_us_per_delivery=_per(cpu.used["server"],
                                                       sat["deliveries_per_s"] * cfg.throughput_seconds))
            result["throughput"] = sat
            if profile and kind in ("kraken", "b0"):
                seconds = cfg.messages_main / cfg.rate
                spy = Profile(server.worker_pid, seconds, out_dir / f"fanout-{kind}-{n}.raw")
                with harness.CpuMeter(server=server.worker_pid) as cpu:
                    fan2 = lg.call("fanout", messages=cfg.messages_main, rate=cfg.rate, timeout=seconds + 60)
                result["profile"] = {**spy.finish(), "deliveries": fan2["deliveries"],
                                     "server_cpu_us_per_delivery": _per(cpu.used["server"], fan2["deliveries"]),
                                     "p99_ms_while_profiled": fan2["p99_ms"]}
    finally:
        lg.close()
        server.stop()
    return result


def _per(cpu_seconds: float, count: float) -> float | None:
    return round(cpu_seconds / count * 1e6, 1) if count else None


def run(cfg, world, out_dir: Path, details: dict) -> list[Row]:
    kinds = ["kraken", "b0"] + (["b0r", "b2"] if cfg.extra_baselines else [])
    sessions = {}
    for kind in kinds:
        sizes = cfg.fanout_sizes if kind in ("kraken", "b0") else [cfg.fanout_main]
        print(f"  fan-out session: {SERVERS[kind]} at {sizes} receivers", flush=True)
        try:
            sessions[kind] = session(kind, cfg, world, sizes, out_dir, cfg.profile)
        except Exception as exc:  # one failed baseline should not lose the rest of the run
            sessions[kind] = {"error": repr(exc)}
            print(f"  ! {kind}: {exc!r}", flush=True)
    details["realtime"] = sessions
    return rows(cfg, sessions)


def _get(sessions, kind, *path):
    node = sessions.get(kind) or {}
    for key in path:
        if not isinstance(node, dict) or key not in node or node[key] is None:
            return None
        node = node[key]
    return node


def rows(cfg, sessions: dict) -> list[Row]:
    out = []
    main = cfg.fanout_main
    for n in sorted(cfg.fanout_sizes):
        fan = _get(sessions, "kraken", "fanout", n) or {}
        base = _get(sessions, "b0", "fanout", n) or {}
        lost = (fan.get("expected") or 0) - (fan.get("deliveries") or 0)
        note = (f"{fan.get('deliveries')}/{fan.get('expected')} delivered (B0 {base.get('deliveries')}/"
                f"{base.get('expected')}); loadgen loop delay p99 {fan.get('loadgen_loop_delay_p99_ms')} ms"
                if fan else "not run")
        target = ("ratio<=", 1.3) if n == main else None
        out.append(Row("1 fan-out", f"p99 send→receive, {n} members @ {cfg.rate:g}/s", fan.get("p99_ms"), "ms",
                       "B0", base.get("p99_ms"), target, note,
                       [("all delivered", lost == 0)] if target else []))
        out.append(Row("1 fan-out", f"p50 send→receive, {n} members", fan.get("p50_ms"), "ms", "B0",
                       base.get("p50_ms")))
        out.append(Row("1 fan-out", f"server CPU per delivery, {n} members", fan.get("server_cpu_us_per_delivery"),
                       "µs", "B0", base.get("server_cpu_us_per_delivery")))
    warm, warm_base = _get(sessions, "kraken", "warmup") or {}, _get(sessions, "b0", "warmup") or {}
    out.append(Row("1 fan-out", f"first {WARMUP_MESSAGES} messages on a fresh server (cold caches), max "
                   f"send→receive, {warm.get('receivers')} members", warm.get("max_ms"), "ms", "B0",
                   warm_base.get("max_ms"), note="unmeasured warm-up before the rows above"))
    for kind in ("b0r", "b2"):
        fan = _get(sessions, kind, "fanout", main)
        if fan:
            out.append(Row("1 fan-out", f"p99 {main} members: {kind} (informational)", fan.get("p99_ms"), "ms",
                           "B0", _get(sessions, "b0", "fanout", main, "p99_ms"),
                           note=f"{SERVERS[kind]}; CPU/delivery {fan.get('server_cpu_us_per_delivery')} µs"))
    ours = _get(sessions, "kraken", "throughput") or {}
    base = _get(sessions, "b0", "throughput") or {}
    out.append(Row("2 throughput", f"deliveries/s per process ({main} receivers, window "
                   f"{cfg.throughput_window})", ours.get("deliveries_per_s"), "/s", "B0",
                   base.get("deliveries_per_s"), ("ratio>=", 0.85),
                   f"server CPU share {ours.get('server_cpu_share')} (B0 {base.get('server_cpu_share')}); "
                   f"messages/s {ours.get('messages_per_s')} (B0 {base.get('messages_per_s')}); "
                   f"timed out {ours.get('timed_out')}"))
    per_cpu = lambda sat: round(1e6 / sat["server_cpu_us_per_delivery"]) if sat.get(  # noqa: E731
        "server_cpu_us_per_delivery") else None
    out.append(Row("2 throughput", "deliveries per server CPU-second (same run; machine-independent)",
                   per_cpu(ours), "/s", "B0", per_cpu(base),
                   note=f"server CPU per delivery at saturation: {ours.get('server_cpu_us_per_delivery')} µs "
                        f"(B0 {base.get('server_cpu_us_per_delivery')} µs)"))
    for kind in ("b0r", "b2"):
        sat = _get(sessions, kind, "throughput")
        if sat:
            out.append(Row("2 throughput", f"deliveries/s: {kind} (informational)", sat.get("deliveries_per_s"),
                           "/s", "B0", base.get("deliveries_per_s"), note=SERVERS[kind]))
    return out
