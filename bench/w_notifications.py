"""Notification fan-out (issue 21 item 4; docs/decisions/0059-notifications.md): the send ack of an
`@channel` in a private channel of 5,000 members against a plain send's in the same run, the time until
every row is stored and the sampled recipients' sockets have their `newNotification`, and each user's
unread count afterwards.

Usage: .venv/bin/python bench/w_notifications.py [--members 5000] [--mongo mongodb://127.0.0.1:27017]
       [--redis-db 7] [--rounds 4] [--plain 40] [--mentions 5] [--sockets 100]
One gunicorn process (tests/live.py LiveServer) on a private database `kraken_bench_notify`, dropped at
the end. Rounds alternate: `--plain` plain sends at 8/s, then `--mentions` `@channel` sends
, each followed by 24 plain sends at 8/s while its fan-out runs (a watcher thread times the rows and
the sampled sockets' events). The ratio compares the `@channel` acks with every plain ack of the run.
Prints the figures as JSON; exit 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import common  # noqa: F401 - puts the repository on sys.path
from common import percentile

from bson import ObjectId


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--mongo", default="mongodb://127.0.0.1:27017")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--plain", type=int, default=40)
    parser.add_argument("--mentions", type=int, default=5)
    parser.add_argument("--sockets", type=int, default=100)
    out = measure(parser.parse_args())
    print(json.dumps(out, indent=1))
    sys.exit(0 if out["ratio_p99"] <= 1.2 and out["max_delivery_s"] <= 5 and out["unread_exact_for_sampled"] else 1)


def run(cfg, details: dict) -> list:
    """`bench/run.py --only notifications`: the rows of issue 21 item 4, on the shared store (its Redis DB, bench/seed.py)."""
    import seed
    from report import Row
    out = measure(argparse.Namespace(members=5000, mongo="mongodb://127.0.0.1:27017", redis_db=seed.REDIS_DB, rounds=2,
                                     plain=40, mentions=3, sockets=50))
    details["notifications"] = out
    return [Row("notifications", "sendMessage ack p99, @channel in a 5,000-member private channel",
                out["mention_ack_p99_ms"], "ms", "plain send p99, same run", out["plain_ack_p99_ms"],
                target=("ratio<=", 1.2)),
            Row("notifications", "5,000 rows stored and sampled sockets' newNotification, after the ack (max)",
                out["max_delivery_s"], "s", target=("<=", 5.0),
                extra_checks=[("each sampled user's unread count exact", out["unread_exact_for_sampled"])]),
            Row("notifications", "plain send ack p99 during a 5,000-row fan-out (information)",
                out["plain_during_fanout_ack_p99_ms"], "ms", "quiet plain send p99", out["plain_quiet_ack_p99_ms"])]


def measure(args) -> dict:
    import tempfile
    from kraken import create_app
    from kraken.auth.service import start_session
    from kraken.channel_memberships.models import ChannelMembership
    from kraken.channels import service as channels
    from kraken.communities import service as communities
    from kraken.config import load_settings
    from kraken.memberships.models import Membership
    from kraken.notifications.models import Notification
    from kraken.users import service as users
    from kraken.users.models import User
    from common import server_env
    from tests.live import LiveServer
    from tests.realtime.sockets import SocketClient

    db = "kraken_bench_notify"
    settings = load_settings({}, env="test", mongodb_url=f"{args.mongo}/{db}",
                             redis_url=f"redis://127.0.0.1:6379/{args.redis_db}", rate_limits=False,
                             log_level="WARNING", data_dir=Path(tempfile.mkdtemp()), argon2_memory_kib=1024,
                             argon2_time_cost=1)
    app = create_app(settings)
    with app.app_context():
        import mongoengine
        mongoengine.get_db().client.drop_database(db)
        from kraken.extensions import redis
        redis.flushdb()
        author = users.create_owner("author", "correct horse battery")
        community = communities.create(author, name="Big", description=None, avatar=None, banner=None)
        private = channels.create(author, community.id, name="crowd", type="TEXT", is_private=True, description=None)
        plain_channel = private
        ids = [ObjectId() for _ in range(args.members)]
        User._get_collection().insert_many([{"_id": i, "username": f"m{n}", "hashedPassword": "x", "role": "USER",
                                             "verified": True} for n, i in enumerate(ids)], ordered=False)
        Membership._get_collection().insert_many([{"userId": i, "communityId": community.id} for i in ids],
                                                 ordered=False)
        ChannelMembership._get_collection().insert_many(
            [{"userId": i, "channelId": private.id, "communityId": community.id} for i in ids], ordered=False)
        step = max(1, args.members // args.sockets)
        sampled = ids[::step][:args.sockets]
        tokens = [start_session(User.objects(id=i).get()).access_token for i in sampled]
        author_token = start_session(author).access_token
        Notification._get_collection()  # its indexes now: the GIN keeper follows every createIndexes
        time.sleep(10)
    server = LiveServer(server_env(settings), Path(tempfile.mkdtemp()) / "notify.log").start()
    clients = [SocketClient(server.url, t).connect() for t in tokens]
    sender = SocketClient(server.url, author_token).connect()
    for c in clients + [sender]:
        c.emit("subscribeAll")
    time.sleep(1)

    def send(spans) -> tuple[str, float]:
        t0 = time.perf_counter()
        mid = sender.call("sendMessage", {"channelId": str(plain_channel.id), "spans": spans}, timeout=30)
        return mid, (time.perf_counter() - t0) * 1000

    plain_acks, busy_acks, mention_acks, delivered = [], [], [], []
    rows = Notification._get_collection

    def watch(mid: str, t0: float, out: dict) -> None:
        """When the message's rows are all stored, and every sampled socket has its event."""
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline and ("rows_s" not in out or "events_s" not in out):
            if "events_s" not in out and all(any(p.get("messageId") == mid for p in c.events.get(
                    "newNotification", [])) for c in clients):
                out["events_s"] = round(time.perf_counter() - t0, 3)
            if ("rows_s" not in out and "events_s" in out
                    and rows().count_documents({"messageId": ObjectId(mid)}) >= args.members):
                out["rows_s"] = round(time.perf_counter() - t0, 3)
            time.sleep(0.1)  # the rows are counted once the events are in (a count reads them all)

    with app.app_context():
        for _ in range(args.rounds):
            for n in range(args.plain):  # plain sends, nothing else running
                plain_acks.append(send([{"type": "PLAINTEXT", "text": f"plain {n}"}])[1])
                time.sleep(0.125)
            for n in range(args.mentions):
                t0 = time.perf_counter()
                mid, ack = send([{"type": "SPECIAL_MENTION", "specialKind": "channel"},
                                 {"type": "PLAINTEXT", "text": f" all {n}"}])
                mention_acks.append(ack)
                out: dict = {}
                watcher = threading.Thread(target=watch, args=(mid, t0, out))
                watcher.start()
                for k in range(24):  # plain sends while the fan-out runs (3 s at 8/s)
                    busy_acks.append(send([{"type": "PLAINTEXT", "text": f"busy {k}"}])[1])
                    time.sleep(0.125)
                watcher.join()
                delivered.append(out)
                time.sleep(1)
        total = args.rounds * args.mentions
        exact = all(rows().count_documents({"unreadFor": i}) == total for i in sampled)
        counts = {n: rows().count_documents({"unreadFor": sampled[0]}) for n in range(3)}
        t = time.perf_counter()
        for i in sampled[:20]:
            rows().count_documents({"unreadFor": i})
        count_ms = (time.perf_counter() - t) * 1000 / 20
    for c in clients + [sender]:
        c.close()
    server.stop()
    everything_plain = plain_acks + busy_acks
    out = {"members": args.members, "plain_ack_p50_ms": round(percentile(everything_plain, 50), 2),
           "plain_ack_p99_ms": round(percentile(everything_plain, 99), 2),
           "plain_quiet_ack_p99_ms": round(percentile(plain_acks, 99), 2),
           "plain_during_fanout_ack_p99_ms": round(percentile(busy_acks, 99), 2),
           "mention_ack_p50_ms": round(percentile(mention_acks, 50), 2),
           "mention_ack_p99_ms": round(percentile(mention_acks, 99), 2),
           "ratio_p99": round(percentile(mention_acks, 99) / percentile(everything_plain, 99), 3),
           "plain_samples": len(everything_plain), "mention_samples": len(mention_acks),
           "delivered": delivered, "max_delivery_s": max(max(d.get("rows_s", 99), d.get("events_s", 99)) for d in delivered),
           "unread_exact_for_sampled": exact, "unread_each": counts[0],
           f"unread_count_ms_at_{total}_unread": round(count_ms, 2)}
    with app.app_context():
        import mongoengine
        mongoengine.get_db().client.drop_database(db)
    return out

if __name__ == "__main__":
    main()
