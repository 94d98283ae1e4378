"""History as the store reads it (kraken.messages.timeline): numbered per channel, read bucket by bucket.

Deep paging is exact while messages are sent, edited and deleted; numbers are unique when two
processes send into one channel at once; a token naming a deleted message keeps its place."""
from __future__ import annotations

import multiprocessing
import random
import threading

import mongoengine
from bson import ObjectId

from kraken.common.time import utcnow
from kraken.messages import timeline
from kraken.messages.models import Message
from tests.realtime.test_messaging_sockets import text
from tests.realtime.test_recent_history import all_pages, from_db


def stored_texts(channel_id, n, author_id, prefix="h"):
    """`n` messages stored as the app stores them (numbered in the channel), oldest first."""
    now = utcnow()
    docs = [{"channelId": channel_id, "authorId": author_id, "spans": [{"type": "PLAINTEXT", "text": f"{prefix}{i}"}],
             "attachments": [], "reactions": [], "sentAt": now} for i in range(n)]
    for start in range(0, n, 1000):
        chunk = docs[start:start + 1000]
        timeline.number(chunk)
        mongoengine.get_db().messages.insert_many(chunk)
    return [str(d["_id"]) for d in docs]


def page(api, channel_id, limit, token=None):
    url = f"/api/messages/channel/{channel_id}?limit={limit}" + (f"&continuationToken={token}" if token else "")
    response = api.get(url)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return [m["id"] for m in body["messages"]], body.get("continuationToken")


def test_numbers_and_buckets_follow_the_send_order(community, login_as):
    api = login_as(community.admin)
    ids = [api.post("/api/messages", json=text(f"m{i}", community.general.id)).get_json()["id"] for i in range(70)]
    stored = {str(m.id): m for m in Message.objects(channel_id=community.general.id)}
    seqs = [stored[i].seq for i in ids]
    assert seqs == list(range(1, 71))
    assert all(stored[i].bucket == f"{community.general.id}:{stored[i].seq // timeline.BUCKET}" for i in ids)
    assert timeline.last_seq(community.general.id) == 70
    assert [m["id"] for m in all_pages(api, community.general.id, 9)] == ids[::-1]


def test_a_token_naming_a_deleted_message_keeps_its_place(community, login_as):
    api = login_as(community.admin)
    ids = stored_texts(community.general.id, 300, community.admin.id)
    first, token = page(api, community.general.id, 50)
    assert first == ids[::-1][:50]
    assert api.delete(f"/api/messages/{token}").status_code == 204
    second, _ = page(api, community.general.id, 50, token)
    assert second == ids[::-1][50:100]
    deep = ids[40]  # far past the recent-history window: read from the store
    assert api.delete(f"/api/messages/{deep}").status_code == 204
    older, _ = page(api, community.general.id, 50, deep)
    assert older == ids[:40][::-1]


def test_a_token_of_another_channel_gives_an_empty_page(community, login_as):
    api = login_as(community.admin)
    [other] = stored_texts(community.elsewhere_general.id, 1, community.outsider.id)
    stored_texts(community.general.id, 3, community.admin.id)
    assert page(api, community.general.id, 10, other) == ([], None)


def test_deep_paging_is_exact_while_messages_are_sent_edited_and_deleted(community, login_as):
    """5,000 stored messages paged 50 at a time while three writers send, edit and delete: every message
    that was not deleted comes exactly once, in order, and nothing sent meanwhile slips in below."""
    ids = stored_texts(community.general.id, 5000, community.admin.id)
    rank = {message_id: i for i, message_id in enumerate(ids)}
    deleted: set[str] = set()
    stop = threading.Event()
    errors: list[BaseException] = []
    done = {"send": 0, "edit": 0, "delete": 0}
    writers = [login_as(community.admin) for _ in range(3)]
    reader = login_as(community.pcmember)

    def writer(api, seed):
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                roll = rng.random()
                if roll < 0.4:
                    assert api.post("/api/messages", json=text("new", community.general.id)).status_code == 201
                    done["send"] += 1
                elif roll < 0.7:
                    target = rng.choice(ids)
                    status = api.patch(f"/api/messages/{target}",
                                       json={"spans": [{"type": "PLAINTEXT", "text": "edited"}]}).status_code
                    assert status in (200, 404)
                    done["edit"] += 1
                else:
                    target = rng.choice(ids)
                    deleted.add(target)  # before the request: a page read meanwhile may or may not hold it
                    assert api.delete(f"/api/messages/{target}").status_code in (204, 404)
                    done["delete"] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(api, i)) for i, api in enumerate(writers)]
    for thread in threads:
        thread.start()
    seen: list[str] = []
    pages = 0
    try:
        # the first page is taken once the writers run, and includes what they sent before it
        token = None
        while True:
            got, token = page(reader, community.general.id, 50, token)
            seen += got
            pages += 1
            if token and pages % 7 == 0:  # now and then the token's own message goes too
                deleted.add(token)
                assert writers[0].delete(f"/api/messages/{token}").status_code in (204, 404)
            if not token:
                break
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert not errors, errors
    assert len(seen) == len(set(seen)), "a message came twice"
    old = [i for i in seen if i in rank]
    assert [rank[i] for i in old] == sorted((rank[i] for i in old), reverse=True), "out of order"
    new = seen[:len(seen) - len(old)]
    assert all(i not in rank for i in new), "a message sent meanwhile slipped in below older ones"
    missing = [i for i in ids if i not in set(old) and i not in deleted]
    assert not missing, f"{len(missing)} messages never came, e.g. {missing[:3]}"
    assert pages >= 80 and min(done.values()) >= 10, (pages, done)  # deep, and the writers were at it
    assert all_pages(reader, community.general.id, 100) == from_db(community.general.id)


def _number_in_a_process(mongodb_url: str, channel_id: str, batches: int, out) -> None:
    from bson import ObjectId
    mongoengine.connect(host=mongodb_url, alias="default")
    got = []
    for _ in range(batches):
        docs = [{"channelId": ObjectId(channel_id)} for _ in range(random.randint(1, 5))]
        timeline.number(docs)
        got += [d["seq"] for d in docs]
    out.put(got)


def test_two_processes_numbering_one_channel_get_unique_gapless_numbers(app, settings):
    processes = 2
    from bson import ObjectId
    channel_id = str(ObjectId())
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=_number_in_a_process, args=(settings.mongodb_url, channel_id, 60, out))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    numbers = [n for _ in workers for n in out.get(timeout=120)]
    for worker in workers:
        worker.join(30)
    assert sorted(numbers) == list(range(1, len(numbers) + 1)), "a number was given twice or skipped"
    assert timeline.last_seq(channel_id) == len(numbers)


def _migration_0002():
    from tests.ops.test_migration_timeline import load_script
    return load_script()


def test_history_reads_migrated_messages_as_it_read_them_before(community, login_as):
    """Messages stored the old way in the app's own database: after the migration the history API pages
    them newest first by `_id`, as the old `(channelId, _id)` query did, and new sends come on top."""
    db = mongoengine.get_db()
    old = [{"_id": ObjectId(), "channelId": community.general.id, "authorId": community.admin.id,
            "spans": [{"type": "PLAINTEXT", "text": f"old{i}"}], "attachments": [], "reactions": []}
           for i in range(260)]
    db.messages.insert_many(old)
    _migration_0002().up(db, lambda line: None)
    api = login_as(community.admin)
    api.post("/api/messages", json=text("new", community.general.id))
    ids = [m["id"] for m in all_pages(api, community.general.id, 50)]
    assert ids[1:] == [str(m["_id"]) for m in sorted(old, key=lambda m: m["_id"], reverse=True)]
    assert Message.objects(id=ids[0]).first().seq == 261
