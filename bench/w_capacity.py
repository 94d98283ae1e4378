"""Workloads 2b, 3 and 5b: persisted messages/s on two processes, memory per idle socket, recovery.

- persisted: two Kraken processes sharing Redis and the database; senders on both send in a closed
  loop (a window of unacknowledged sends each) for a fixed time; every ack must be stored and
  reach every receiver on both processes (zero loss). Baseline: raw pymongo inserts/s, same DB.
- memory: RSS of the socket-serving process before and after N idle authenticated sockets that
  joined their community (`joinAll`); the same for B0 (sockets that joined one room).
- recovery: N clients with reconnection on; the server gets SIGTERM and a new one starts on the
  same port; measured until every client is reconnected, rejoined and receiving a new message.
"""
from __future__ import annotations

import threading
import time

from bson import ObjectId

import harness
import seed
from report import Row
from spy import Profile


def persisted(cfg, world, out_dir, details: dict) -> list[Row]:
    a = harness.kraken_server(world.env, name="kraken-a").start()
    b = harness.kraken_server(world.env, name="kraken-b").start()
    lg = harness.Loadgen("loadgen-persist")
    try:
        users = world.tokens
        for server in (a, b):
            lg.call("connect", url=server.url, protocol="kraken", target=world.community_id, role="receiver",
                    tokens=users[:cfg.persist_receivers], count=cfg.persist_receivers)
            lg.call("connect", url=server.url, protocol="kraken", target=world.channel_id, role="sender",
                    tokens=users[-cfg.persist_senders:], count=cfg.persist_senders)
        with harness.CpuMeter(a=a.worker_pid, b=b.worker_pid, **harness.db_pids()) as cpu:
            res = lg.call("persist", seconds=cfg.persist_seconds, window=cfg.persist_window,
                          timeout=cfg.persist_seconds + 60)
        ids = res.pop("ids")
        stored = seed.count_stored(world, ids)
        if cfg.profile:  # the send path (few receivers): where a message's own cost goes
            spy = Profile(a.worker_pid, cfg.persist_seconds, out_dir / "send-path.raw")
            with harness.CpuMeter(a=a.worker_pid) as cpu_a:
                again = lg.call("persist", seconds=cfg.persist_seconds, window=cfg.persist_window,
                                timeout=cfg.persist_seconds + 60)
            details["profile_send_path"] = {**spy.finish(), "messages": again["acked"],
                                            "cpu_ms_per_message_process_a": round(
                                                cpu_a.used.get("a", 0) / max(again["acked"], 1) * 1000, 2)}
    finally:
        lg.close()
        a.stop()
        b.stop()
    raw = raw_insert_rate(world, seconds=3)
    lost = res["acked"] - stored + res["missing_deliveries"]
    details["persisted"] = {**res, "stored": stored, "lost": lost, "raw_inserts_per_s": raw,
                            "cpu_seconds": {k: round(v, 2) for k, v in cpu.used.items()}}
    note = (f"{res['acked']} acked, {stored} stored, {res['missing_deliveries']} deliveries missing, "
            f"{res['send_errors']} send errors; {cfg.persist_senders} senders x window {cfg.persist_window} "
            f"per process; CPU s {details['persisted']['cpu_seconds']}")
    return [Row("2 persisted", "messages/s, 2 processes sharing Redis", res["persisted_per_s"], "/s",
                "raw insert_one", raw, (">=", 300), note, [("zero loss", lost == 0)])]


def raw_insert_rate(world, seconds: float, threads: int = 8) -> float:
    """Message-shaped insert_one calls per second through pymongo (the database's own ceiling)."""
    collection = world.mongo["bench_raw_inserts"]
    done = [0] * threads
    end = time.monotonic() + seconds

    def lane(i: int) -> None:
        channel = ObjectId()
        while time.monotonic() < end:
            collection.insert_one({"channelId": channel, "authorId": channel, "attachments": [], "reactions": [],
                                   "spans": [{"type": "PLAINTEXT", "text": "raw insert"}]})
            done[i] += 1

    workers = [threading.Thread(target=lane, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    collection.drop()
    return round(sum(done) / seconds, 1)


def _idle_rss(kind: str, cfg, world) -> dict:
    server = (harness.kraken_server(world.env) if kind == "kraken" else harness.baseline_server("b0")).start()
    lg = harness.Loadgen(f"loadgen-memory-{kind}")
    args = ({"protocol": "kraken", "target": world.community_id, "tokens": world.tokens} if kind == "kraken"
            else {"protocol": "bare", "target": "bench-room"})
    try:
        warm = lg.call("connect", url=server.url, role="receiver", count=20, **args)  # first-use allocations
        time.sleep(1.0)
        before = harness.rss_kb(server.worker_pid)
        step = lg.call("connect", url=server.url, role="receiver", count=cfg.memory_sockets, concurrency=100,
                       timeout=900, **args)
        time.sleep(3.0)
        after = harness.rss_kb(server.worker_pid)
        stats = lg.call("stats")
        added = step["receivers"] - warm["receivers"]
        return {"sockets": added, "failed": step["failed"], "first_error": step["first_error"],
                "connect_seconds": step["seconds"], "connects_per_s": round(added / max(step["seconds"], 0.01), 1),
                "rss_before_kb": before, "rss_after_kb": after,
                "kb_per_socket": round((after - before) / added, 1) if added else None,
                "still_connected": stats["connected"], "loadgen_rss_kb": stats["rss_kb"],
                "other_events_received": stats["other_events"]}
    finally:
        lg.close()
        server.stop()


def memory(cfg, world, details: dict) -> list[Row]:
    ours = _idle_rss("kraken", cfg, world)
    base = _idle_rss("b0", cfg, world)
    details["memory"] = {"kraken": ours, "b0": base}
    users = min(len(world.tokens), ours["sockets"])
    note = (f"{ours['sockets']} sockets ({ours['failed']} failed) over {users} accounts, connected at "
            f"{ours['connects_per_s']}/s (B0 {base['connects_per_s']}/s); RSS {ours['rss_before_kb']} → "
            f"{ours['rss_after_kb']} KB")
    return [Row("3 memory", f"RSS per idle authenticated socket ({ours['sockets']} sockets)",
                ours["kb_per_socket"], "KB", "B0", base["kb_per_socket"], ("<=", 80), note,
                [(f"{cfg.memory_sockets} connected", ours["sockets"] >= cfg.memory_sockets and not ours["failed"])])]


def _recover(kind: str, cfg, world) -> dict:
    def make(port=None):
        return harness.kraken_server(world.env, port=port) if kind == "kraken" else \
            harness.baseline_server("b0", port=port)

    server = make().start()
    lg = harness.Loadgen(f"loadgen-recovery-{kind}")
    args = ({"protocol": "kraken", "target": world.community_id, "tokens": world.tokens} if kind == "kraken"
            else {"protocol": "bare", "target": "bench-room"})
    sender = ({"protocol": "kraken", "target": world.channel_id, "tokens": [world.owner_token]} if kind == "kraken"
              else args)
    replacement = None
    try:
        step = lg.call("connect", url=server.url, role="receiver", count=cfg.recovery_clients, concurrency=100,
                       reconnection=True, timeout=900, **args)
        lg.call("connect", url=server.url, role="sender", count=1, reconnection=True, **sender)
        lg.send("recover", timeout_s=cfg.recovery_timeout)
        lg.wait("event")
        term_at = time.time()
        shutdown_seconds = server.stop(timeout=40)
        exit_at = time.time()
        replacement = make(server.port).start()
        ready_at = time.time()
        res = lg.wait(timeout=cfg.recovery_timeout + 60)
        res["other_events_received"] = lg.call("stats")["other_events"]
    finally:
        lg.close()
        (replacement or server).stop()
    all_in = res["receiving"]["count"] == res["receivers"]
    last = res["receiving"]["last"]
    since = lambda t: round(t / 1000 - exit_at, 2) if t else None  # noqa: E731
    return {"clients": step["receivers"], "connect_failed": step["failed"], "initial_connect_seconds": step["seconds"],
            "shutdown_seconds": round(shutdown_seconds, 2), "new_process_ready_s": round(ready_at - exit_at, 2),
            "reconnected": res["reconnected"]["count"], "receiving": res["receiving"]["count"],
            "all_receiving_s_after_exit": since(last) if all_in else None,
            "p50_receiving_s_after_exit": since(res["receiving"]["p50"]),
            "p90_receiving_s_after_exit": since(res["receiving"]["p90"]),
            "p50_reconnect_s_after_exit": since(res["reconnected"]["p50"]),
            "last_reconnect_s_after_exit": since(res["reconnected"]["last"]),
            "first_sender_s_after_exit": since(res.get("first_sender_connected_at")),
            "all_receiving_s_after_sigterm": round(last / 1000 - term_at, 2) if all_in and last else None,
            "other_events_received": res["other_events_received"]}


def recovery(cfg, world, details: dict) -> list[Row]:
    ours = _recover("kraken", cfg, world)
    base = _recover("b0", cfg, world)
    details["recovery"] = {"kraken": ours, "b0": base}
    note = (f"{ours['receiving']}/{ours['clients']} receiving; SIGTERM→exit {ours['shutdown_seconds']} s "
            f"(graceful_timeout), exit→new process ready {ours['new_process_ready_s']} s, p50/last reconnected "
            f"{ours['p50_reconnect_s_after_exit']}/{ours['last_reconnect_s_after_exit']} s, p50/p90 receiving "
            f"{ours['p50_receiving_s_after_exit']}/{ours['p90_receiving_s_after_exit']} s after exit; "
            f"from SIGTERM: {ours['all_receiving_s_after_sigterm']} s")
    return [Row("5 recovery", f"{cfg.recovery_clients} clients receiving again after a restart (s after the old "
                f"process exited)", ours["all_receiving_s_after_exit"], "s", "B0",
                base["all_receiving_s_after_exit"], ("<=", 30), note,
                [("all receiving", ours["receiving"] == ours["clients"] == cfg.recovery_clients)])]
