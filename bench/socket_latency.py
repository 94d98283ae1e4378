"""Send→receive latency of `sendMessage` to N receivers in one channel, through a live gunicorn server.

Run: `.venv/bin/python bench/socket_latency.py [--receivers 100] [--messages 100] [--rate 5]`
(needs `make services`; loopback only; stops by itself). Prints p50/p90/p99 in milliseconds.
Full path measured: authenticated sendMessage → validation → RBAC → store → Redis queue → delivery.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import mongoengine
import socketio

from common import ROOT, bench_settings, percentile, server_env  # noqa: F401 - sets sys.path

from kraken import create_app  # noqa: E402
from kraken.extensions import redis  # noqa: E402
from tests.live import LiveServer  # noqa: E402

DB = "kraken_bench_latency"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receivers", type=int, default=100)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second")
    args = parser.parse_args()

    settings = bench_settings(DB)
    app = create_app(settings)
    with app.app_context():
        mongoengine.get_connection().drop_database(DB)
        redis.flushdb()
        from kraken.auth.service import start_session
        from kraken.channels.models import Channel
        from kraken.communities import service as communities
        from kraken.memberships import service as memberships
        from kraken.users import service as users
        sender = users.create_owner("sender", "sender password")
        community = communities.create(sender, name="Bench", description=None, avatar=None, banner=None)
        channel = Channel.objects(community_id=community.id, type="TEXT").first()
        tokens = []
        for i in range(args.receivers):
            user = users.register(username=f"r{i}", password="longenough", email=None, code=None, mode="open")
            memberships.join(user.id, community.id)
            tokens.append(start_session(user).access_token)
        sender_token = start_session(sender).access_token

    log = Path("/tmp/kraken-bench-latency.log")
    server = LiveServer(server_env(settings), log).start()
    latencies: list[float] = []
    lock = threading.Lock()
    sent_at: dict[str, float] = {}
    clients = []
    try:
        def on_message(data):
            now = time.perf_counter()
            seq = data["message"]["spans"][0]["text"]
            with lock:
                if seq in sent_at:
                    latencies.append((now - sent_at[seq]) * 1000)

        for token in tokens:
            client = socketio.Client(reconnection=False)
            client.on("newMessage", on_message)
            client.connect(server.url, auth={"token": f"Bearer {token}"}, transports=["websocket"])
            client.emit("joinAll", str(community.id))
            clients.append(client)
        sender_client = socketio.Client(reconnection=False)
        sender_client.connect(server.url, auth={"token": f"Bearer {sender_token}"}, transports=["websocket"])
        time.sleep(1.0)
        interval = 1.0 / args.rate
        started = time.perf_counter()
        for i in range(args.messages):
            seq = f"seq-{i}"
            with lock:
                sent_at[seq] = time.perf_counter()
            sender_client.emit("sendMessage", {"channelId": str(channel.id),
                                               "spans": [{"type": "PLAINTEXT", "text": seq}]})
            next_at = started + (i + 1) * interval
            time.sleep(max(0.0, next_at - time.perf_counter()))
        time.sleep(2.0)
        expected = args.messages * args.receivers
        result = {"receivers": args.receivers, "messages": args.messages, "rate": args.rate,
                  "deliveries": len(latencies), "expected": expected,
                  "p50_ms": round(percentile(latencies, 50), 2), "p90_ms": round(percentile(latencies, 90), 2),
                  "p99_ms": round(percentile(latencies, 99), 2), "max_ms": round(max(latencies or [0]), 2)}
        print(json.dumps(result))
        sender_client.disconnect()
    finally:
        for client in clients:
            client.disconnect()
        server.stop()
        with app.app_context():
            mongoengine.get_connection().drop_database(DB)


if __name__ == "__main__":
    main()
