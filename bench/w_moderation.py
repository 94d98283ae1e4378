"""Issue 21: a ban takes the banned user's sockets out of the community's rooms on every process.

Two Kraken processes on one database and Redis. For each sample a member connects to process B and
emits `subscribeAll` (its rooms are confirmed by a message the owner sends from A); the owner bans the
member with `POST /api/moderation/ban` on A, and the time runs from the request until the member's
socket on B receives `userBanned`. Process A publishes the room move (`member_left`) before
`userBanned`, on one ordered queue, so B has taken the socket out of the community's rooms by the
time it delivers `userBanned`: the figure bounds "ban → out of the rooms" from above. Each sample then
checks it: a message the owner sends after the ban reaches a witness on B but not the banned socket.

Run alone: `.venv/bin/python bench/run.py --only moderation [--ban-samples 30]`. Its own database
(`kraken_bench_mod`), Redis DB `KRAKEN_BENCH_REDIS_DB` (bench/seed.py's unless set), both emptied at the end.
"""
from __future__ import annotations

import os
import threading
import time

import requests
import socketio

import harness
import seed
from common import bench_settings, percentile
from report import Row

DB = "kraken_bench_mod"


def open_world(members: int) -> seed.World:
    """A private world like seed.open_world, on the Redis DB this run was given."""
    import mongoengine
    from kraken import create_app
    from kraken.extensions import redis
    settings = bench_settings(DB, redis_db=int(os.environ.get("KRAKEN_BENCH_REDIS_DB", seed.REDIS_DB)))
    app = create_app(settings)
    with app.app_context():
        mongoengine.get_connection().drop_database(DB)
        redis.flushdb()
    seed.migrate(settings)
    return seed.populate(seed.World(db=DB, settings=settings, app=app), members)


class _Socket:
    def __init__(self, url: str, token: str):
        self.sio = socketio.Client(reconnection=False)
        self.cond = threading.Condition()
        self.events: dict[str, list] = {}
        self.sio.on("*", self._record)
        self.sio.connect(url, auth={"token": f"Bearer {token}"}, transports=["websocket"], wait_timeout=10)

    def _record(self, event, *args):
        with self.cond:
            self.events.setdefault(event, []).append((time.perf_counter(), args[0] if args else None))
            self.cond.notify_all()

    def wait(self, event: str, predicate=lambda p: True, timeout: float = 10) -> float | None:
        """When (perf_counter) `event` matching `predicate` arrived, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, payload in self.events.get(event, []):
                    if predicate(payload):
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:
            pass


def run(cfg, details: dict) -> list[Row]:
    samples = cfg.ban_samples
    world = open_world(samples + 1)
    a = harness.kraken_server(world.env, name="kraken-a").start()
    b = harness.kraken_server(world.env, name="kraken-b").start()
    latencies, rest_ms, leaks, missing = [], [], 0, 0
    try:
        owner = _Socket(a.url, world.owner_token)
        witness = _Socket(b.url, world.tokens[0])
        witness.sio.emit("subscribeAll")
        owner.sio.emit("subscribeAll")
        headers = {"Authorization": f"Bearer {world.owner_token}"}

        def say(text: str) -> str:
            return owner.sio.call("sendMessage", {"channelId": world.channel_id,
                                                  "spans": [{"type": "PLAINTEXT", "text": text}]}, timeout=10)

        for i in range(1, samples + 1):
            member = _Socket(b.url, world.tokens[i])
            try:
                member.sio.emit("subscribeAll")
                for attempt in range(50):  # its rooms are joined once it hears the channel
                    probe = say(f"probe {i}.{attempt}")
                    if member.wait("newMessage", lambda p, m=probe: p["message"]["id"] == m, timeout=0.2):
                        break
                user_id = world.user_ids[i]
                started = time.perf_counter()
                response = requests.post(f"{a.url}/api/moderation/ban/{world.community_id}/{user_id}",
                                         headers=headers, json={"reason": "bench"}, timeout=30)
                rest_ms.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                at = member.wait("userBanned", lambda p, u=user_id: p["userId"] == u, timeout=10)
                if at is None:
                    missing += 1
                    continue
                latencies.append((at - started) * 1000)
                after = say(f"after ban {i}")
                witness.wait("newMessage", lambda p, m=after: p["message"]["id"] == m, timeout=10)
                if member.wait("newMessage", lambda p, m=after: p["message"]["id"] == m, timeout=0.2) is not None:
                    leaks += 1
            finally:
                member.close()
        owner.close()
        witness.close()
    finally:
        a.stop()
        b.stop()
        seed.drop(world)
    res = {"samples": samples, "measured": len(latencies), "missing": missing, "leaks": leaks,
           "p50_ms": round(percentile(latencies, 50), 1), "p99_ms": round(percentile(latencies, 99), 1),
           "max_ms": round(max(latencies or [float("nan")]), 1), "rest_p50_ms": round(percentile(rest_ms, 50), 1),
           "rest_p99_ms": round(percentile(rest_ms, 99), 1)}
    details["moderation"] = res
    print(f"moderation: ban -> out of the rooms, two processes: {res}", flush=True)
    return [Row("21 moderation", f"ban → the banned user's sockets out of the rooms, two processes "
                f"(p99 of {len(latencies)})", res["p99_ms"], "ms", target=("<=", 1000),
                note=f"p50 {res['p50_ms']} ms, max {res['max_ms']} ms; the ban request itself p50/p99 "
                     f"{res['rest_p50_ms']}/{res['rest_p99_ms']} ms; no userBanned: {missing}; "
                     f"a message after the ban reached the banned socket: {leaks}",
                extra_checks=[("every banned socket told", missing == 0),
                              ("no message after the ban", leaks == 0)])]
