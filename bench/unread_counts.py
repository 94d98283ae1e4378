"""GET /api/read-receipts/unread-counts for a user in 20 communities x 10 channels + 50 DMs (issue 20
target: p99 <= 50 ms at 1M stored messages), on the shared default store (FerretDB 1.24 on PostgreSQL)
in a database of its own, Redis DB 12. Prints p50/p95/p99 warm (mirror in Redis) and cold (mirror gone:
the counters are read instead), in process through Flask's test client (no HTTP, no gevent).

    KRAKEN_ENV=test .venv/bin/python bench/unread_counts.py 10000 100000 1000000
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bson import ObjectId  # noqa: E402

from kraken.app import create_app  # noqa: E402
from kraken.config import load_settings  # noqa: E402
from kraken.extensions import redis  # noqa: E402
from kraken.messages.models import Message, number  # noqa: E402
from kraken.read_state import service as read_state  # noqa: E402
from kraken.read_state.schemas import MarkReadIn  # noqa: E402
from tests.factories import Factory  # noqa: E402
from tests.redis_dbs import claim  # noqa: E402

DB = f"kraken_bench_unread_{os.getpid()}"


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def fill(conversations, authors, count):
    """`count` messages spread over the conversations, numbered as the app numbers them."""
    template = Message(channel_id=ObjectId(), author_id=authors[0], spans=[{"type": "PLAINTEXT", "text": "x"}]).to_mongo()
    template.pop("_id", None)
    collection = Message._get_collection()
    done = 0
    while done < count:
        batch = []
        for _ in range(min(5000, count - done)):
            kind, cid = random.choice(conversations)
            doc = dict(template, _id=ObjectId(), authorId=random.choice(authors))
            doc.pop("channelId", None)
            doc["channelId" if kind == "channel" else "directMessageGroupId"] = cid
            batch.append(doc)
        number(batch)
        collection.insert_many(batch, ordered=False)
        done += len(batch)


def measure(client, headers, n=200):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get("/api/read-receipts/unread-counts", headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return times, response.get_json()


def main(sizes):
    settings = load_settings().model_copy(update={"mongodb_url": f"mongodb://127.0.0.1:27017/{DB}",
                                                  "redis_url": f"redis://127.0.0.1:6379/{claim('bench unread')}", "rate_limits": False,
                                                  "log_level": "WARNING"})
    app = create_app(settings)
    with app.app_context():
        try:
            factory = Factory(app)
            probe = factory.user("probe")
            others = [factory.user(f"peer{i}") for i in range(50)]
            conversations = []
            for c in range(20):
                community = factory.community(others[c], f"c{c}")
                factory.member(probe, community)
                conversations.append(("channel", factory.default_channel(community).id))
                for k in range(9):
                    conversations.append(("channel", factory.channel(community, others[c], f"ch{k}").id))
            for other in others:
                conversations.append(("dm", factory.dm(probe, other).id))
            authors = [o.id for o in others]
            headers = {"Authorization": f"Bearer {factory.token(probe)}"}
            client = app.test_client()
            stored = 0
            for size in sizes:
                fill(conversations, authors, size - stored)
                stored = size
                # marks in half of the conversations, at a random place
                for kind, cid in conversations[::2]:
                    top = Message.objects(**{("channel_id" if kind == "channel" else "direct_message_group_id"): cid},
                                          seq=random.randint(1, 3)).first()
                    if top is not None:
                        body = {"lastReadMessageId": str(top.id),
                                ("channelId" if kind == "channel" else "directMessageGroupId"): str(cid)}
                        read_state.mark_read(probe, MarkReadIn.model_validate(body), announce=False)
                for _, cid in conversations:  # the mirror as sends leave it (fill() bypasses the send path)
                    redis.delete(f"kraken:convseq:{cid}")
                measure(client, headers, 5)
                warm, body = measure(client, headers)
                cold = []
                for _ in range(20):
                    for _, cid in conversations:
                        redis.delete(f"kraken:convseq:{cid}")
                    cold += measure(client, headers, 1)[0]
                total = sum(item["unreadCount"] for item in body)
                print(f"{size:>8} stored messages, {len(body)} conversations, {total} unread: "
                      f"warm p50 {statistics.median(warm):.1f} ms p95 {percentile(warm, .95):.1f} "
                      f"p99 {percentile(warm, .99):.1f}; cold (no mirror) p50 {statistics.median(cold):.1f} "
                      f"p99 {percentile(cold, .99):.1f} ms", flush=True)
        finally:
            from mongoengine import get_db  # noqa: PLC0415 - clean-up only
            get_db().client.drop_database(DB)
            for _, cid in conversations:
                redis.delete(f"kraken:convseq:{cid}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10000])
