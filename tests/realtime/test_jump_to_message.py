"""Jump to message (kraken-head-features §9, docs/decisions/0045-jump-to-message.md): history paged newer
with `direction=newer`, and `GET /api/messages/channel/:id/around/:messageId`; pages newest first, tokens
exact while messages are sent, edited and deleted (kraken.messages.paging, kraken.messages.timeline)."""
from __future__ import annotations

import random
import threading
import time

import mongoengine
import pytest
from bson import ObjectId

from kraken.common.time import utcnow
from kraken.messages import paging, timeline
from kraken.messages.models import Message
from tests.realtime.test_messaging_sockets import text
from tests.realtime.test_recent_history import from_db
from tests.realtime.test_timeline import stored_texts


def page(api, channel_id, limit, token=None, direction=None):
    url = f"/api/messages/channel/{channel_id}?limit={limit}" + (f"&continuationToken={token}" if token else "")
    url += f"&direction={direction}" if direction else ""
    response = api.get(url)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) <= {"messages", "continuationToken"}
    return [m["id"] for m in body["messages"]], body.get("continuationToken")


def around(api, channel_id, message_id, limit=None):
    url = f"/api/messages/channel/{channel_id}/around/{message_id}" + (f"?limit={limit}" if limit else "")
    response = api.get(url)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) <= {"messages", "olderContinuationToken", "newerContinuationToken"}
    return [m["id"] for m in body["messages"]], body.get("olderContinuationToken"), body.get("newerContinuationToken")


def newer_pages(api, channel_id, limit, token=None):
    """Every page towards the present from `token` (from the first message without one), oldest first."""
    seen = []
    while True:
        got, token = page(api, channel_id, limit, token, "newer")
        seen += got[::-1]
        if not token:
            return seen


def older_pages(api, channel_id, limit, token):
    seen = []
    while token:
        got, token = page(api, channel_id, limit, token)
        seen += got
    return seen


def test_direction_newer_pages_towards_the_present_newest_first(community, login_as):
    api = login_as(community.pcmember)
    ids = stored_texts(community.general.id, 150, community.admin.id)  # oldest first
    got, token = page(api, community.general.id, 50, direction="newer")  # no token: the oldest 50
    assert got == ids[:50][::-1] and token == ids[49]
    got, token = page(api, community.general.id, 50, token, "newer")
    assert got == ids[50:100][::-1] and token == ids[99]
    got, token = page(api, community.general.id, 50, token, "newer")
    assert got == ids[100:][::-1] and token == ids[149]  # full: a token even at the end
    assert page(api, community.general.id, 50, token, "newer") == ([], None)
    assert newer_pages(api, community.general.id, 7) == ids
    assert newer_pages(api, community.general.id, 64, ids[10]) == ids[11:]
    # anything but "newer" pages older, as before
    assert page(api, community.general.id, 5, ids[10], "older") == (ids[5:10][::-1], ids[5])
    assert page(api, community.general.id, 5, ids[10], "sideways") == (ids[5:10][::-1], ids[5])
    assert page(api, community.general.id, 5, direction="") == (ids[-5:][::-1], ids[-5])
    # a token of another channel gives an empty page, as it does older
    [other] = stored_texts(community.elsewhere_general.id, 1, community.outsider.id)
    assert page(api, community.general.id, 5, other, "newer") == ([], None)
    for bad in ("direction=" + "n" * 17, "limit=0&direction=newer", "continuationToken=zz&direction=newer"):
        assert api.get(f"/api/messages/channel/{community.general.id}?{bad}").status_code == 400


def test_around_is_newest_first_with_the_message_in_the_middle(community, login_as):
    api = login_as(community.pcmember)
    ids = stored_texts(community.general.id, 300, community.admin.id)
    got, older, newer = around(api, community.general.id, ids[150], 11)  # half = 5
    assert got == ids[145:156][::-1]
    assert older == ids[145] and newer == ids[155]
    got, older, newer = around(api, community.general.id, ids[150])  # default limit 50: half = 24
    assert got == ids[126:175][::-1] and (older, newer) == (ids[126], ids[174])
    # from the tokens, paging either way gives back the whole history exactly once
    assert older_pages(api, community.general.id, 30, older) == ids[:126][::-1]
    assert newer_pages(api, community.general.id, 30, newer) == ids[175:]
    # across bucket edges (64 a bucket)
    for i in (63, 64, 127, 128, 191):
        assert around(api, community.general.id, ids[i], 9)[0] == ids[i - 4:i + 5][::-1]
    # limit 1 and 2 still give one on each side (the reference's half = 0 was a 500)
    assert around(api, community.general.id, ids[20], 1) == (ids[19:22][::-1], ids[19], ids[21])
    assert around(api, community.general.id, ids[20], 2) == (ids[19:22][::-1], ids[19], ids[21])
    assert around(api, community.general.id, ids[20], 100)[0] == ids[:70][::-1]  # 20 older, 49 newer
    for bad in ("limit=0", "limit=101", "limit=x"):
        url = f"/api/messages/channel/{community.general.id}/around/{ids[3]}?{bad}"
        assert api.get(url).status_code == 400


def test_around_at_the_start_and_the_end_of_history(community, login_as):
    api = login_as(community.pcmember)
    ids = stored_texts(community.general.id, 40, community.admin.id)
    assert around(api, community.general.id, ids[0], 11) == (ids[:6][::-1], None, ids[5])
    assert around(api, community.general.id, ids[-1], 11) == (ids[-6:][::-1], ids[-6], None)
    assert around(api, community.general.id, ids[2], 11) == (ids[:8][::-1], None, ids[7])
    # a short history: everything, no token
    assert around(api, community.general.id, ids[20], 100) == (ids[::-1], None, None)
    # a message sent since comes on top
    fresh = api.post("/api/messages", json=text("fresh", community.general.id)).get_json()["id"]
    assert around(api, community.general.id, ids[-1], 11) == ([fresh] + ids[-6:][::-1], ids[-6], None)


def test_around_a_deleted_message_gives_its_place_without_it(community, login_as):
    api = login_as(community.admin)
    ids = stored_texts(community.general.id, 200, community.admin.id)
    assert api.delete(f"/api/messages/{ids[100]}").status_code == 204
    assert api.delete(f"/api/messages/{ids[98]}").status_code == 204
    got, older, newer = around(api, community.general.id, ids[100], 11)
    assert got == (ids[94:98] + ids[99:100] + ids[101:106])[::-1]  # five on each side: 98 is gone too
    assert (older, newer) == (ids[94], ids[105])
    # its tokens keep their places too
    assert api.delete(f"/api/messages/{ids[94]}").status_code == 204
    assert api.delete(f"/api/messages/{ids[105]}").status_code == 204
    assert page(api, community.general.id, 3, ids[94]) == (ids[91:94][::-1], ids[91])
    assert page(api, community.general.id, 3, ids[105], "newer") == (ids[106:109][::-1], ids[108])


def test_unknown_foreign_and_reply_anchors_are_404(community, login_as):
    api = login_as(community.admin)
    ids = stored_texts(community.general.id, 5, community.admin.id)
    [elsewhere] = stored_texts(community.victim.id, 1, community.admin.id)
    reply = Message(channel_id=community.general.id, parent_message_id=ObjectId(ids[2]), author_id=community.admin.id,
                    spans=[{"type": "PLAINTEXT", "text": "in a thread"}])
    reply.save()
    for anchor in (str(ObjectId()), elsewhere, str(reply.id)):
        response = api.get(f"/api/messages/channel/{community.general.id}/around/{anchor}")
        assert response.status_code == 404 and response.get_json()["message"] == "Message not found"
    assert api.get(f"/api/messages/channel/{community.general.id}/around/not-an-id").status_code == 400
    assert api.get(f"/api/messages/channel/{ObjectId()}/around/{ids[0]}").status_code == 404
    # the thread reply stays out of the channel's history either way
    assert reply.id not in {ObjectId(i) for i in around(api, community.general.id, ids[2], 100)[0]}
    assert newer_pages(api, community.general.id, 2) == ids


def test_an_invisible_channel_is_404_and_a_foreign_one_403(community, login_as):
    login_as(community.pcmember).post("/api/messages", json=text("psst", community.private.id))
    secret = str(Message.objects(channel_id=community.private.id).first().id)
    url = f"/api/messages/channel/{community.private.id}/around/{secret}"
    assert login_as(community.member).get(url).status_code == 404
    assert login_as(community.outsider).get(url).status_code == 404
    assert login_as(community.pcmember).get(url).status_code == 200
    [public] = stored_texts(community.general.id, 1, community.admin.id)
    assert login_as(community.outsider).get(f"/api/messages/channel/{community.general.id}/around/{public}"
                                            ).status_code == 403
    assert login_as(community.outsider).get(f"/api/messages/channel/{community.general.id}?direction=newer"
                                            ).status_code == 403


def test_paging_newer_is_exact_while_messages_are_sent_edited_and_deleted(community, login_as):
    """3,000 stored messages paged newer 40 at a time from the first while three writers send, edit and
    delete: every message not deleted comes exactly once, oldest first, the ones sent meanwhile after the
    old ones, and none below the last one seen is missing."""
    ids = stored_texts(community.general.id, 3000, community.admin.id)
    rank = {message_id: i for i, message_id in enumerate(ids)}
    deleted: set[str] = set()
    sent: list[str] = []
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
                    response = api.post("/api/messages", json=text("new", community.general.id))
                    assert response.status_code == 201
                    sent.append(response.get_json()["id"])
                    done["send"] += 1
                elif roll < 0.7:
                    target = rng.choice(ids + sent)
                    status = api.patch(f"/api/messages/{target}",
                                       json={"spans": [{"type": "PLAINTEXT", "text": "edited"}]}).status_code
                    assert status in (200, 404)
                    done["edit"] += 1
                else:
                    target = rng.choice(ids + sent)
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
        token = None
        while True:
            got, token = page(reader, community.general.id, 40, token, "newer")
            seen += got[::-1]
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
    assert old == seen[:len(old)], "a message sent meanwhile came before an older one"
    assert [rank[i] for i in old] == sorted(rank[i] for i in old), "out of order"
    missing = [i for i in ids if i not in set(old) and i not in deleted]
    assert not missing, f"{len(missing)} messages never came, e.g. {missing[:3]}"
    # nothing stored below the last message seen was skipped (also among those sent meanwhile)
    seqs = {str(m.id): m.seq for m in Message.objects(channel_id=community.general.id)}
    last = max(seqs.get(i, 0) for i in seen[-5:])
    skipped = [i for i, s in seqs.items() if s <= last and i not in set(seen)]
    assert not skipped, skipped[:3]
    assert pages >= 60 and min(done.values()) >= 10, (pages, done)
    assert [m["id"] for m in from_db(community.general.id)][::-1] == newer_pages(reader, community.general.id, 100)


def test_a_number_still_on_its_way_in_is_waited_for(community, monkeypatch):
    """A send numbered before a later one but stored after it: paging newer does not skip it (it waits
    for it, a moment); a number that never comes (a failed insert) is a gap once the wait is over."""
    channel = community.general.id
    ids = stored_texts(channel, 3, community.admin.id)
    late = {"channelId": channel, "authorId": community.admin.id, "spans": [], "attachments": [], "reactions": [],
            "sentAt": utcnow()}
    timeline.number([late])  # number 4 taken, not stored yet
    [after] = stored_texts(channel, 1, community.admin.id)  # number 5, stored
    later = threading.Timer(0.3, lambda: mongoengine.get_db().messages.insert_one(late))
    later.start()
    started = time.monotonic()
    items, token = paging.page(channel, 10, ids[-1], "newer")
    later.join()
    assert [m.split('"')[3] for m in items] == [after, str(late["_id"])]
    assert 0.25 < time.monotonic() - started < timeline.SETTLE_SECONDS
    # a number taken by an insert that failed: waited for, then skipped
    monkeypatch.setattr(timeline, "SETTLE_SECONDS", 0.3)
    timeline.number([{"channelId": channel}])  # number 6, never stored
    [last] = stored_texts(channel, 1, community.admin.id)
    started = time.monotonic()
    items, _ = paging.page(channel, 10, after, "newer")
    assert [m.split('"')[3] for m in items] == [last]
    assert time.monotonic() - started >= 0.3
    # a deleted number (a tombstone) is not waited for
    monkeypatch.setattr(timeline, "SETTLE_SECONDS", 5)
    message = Message.objects(id=late["_id"]).first()
    timeline.bury(message)
    message.delete()
    started = time.monotonic()
    items, _ = paging.page(channel, 1, ids[-1], "newer")  # 4 deleted, then 5 (6 is beyond the page)
    assert [m.split('"')[3] for m in items] == [after] and time.monotonic() - started < 4
    # past SETTLE_LOOKUPS tombstone look-ups (a bulk delete just now), a gap is taken as settled
    monkeypatch.setattr(timeline, "SETTLE_LOOKUPS", 0)
    timeline.number([{"channelId": channel}])  # number 8, never stored
    [newest] = stored_texts(channel, 1, community.admin.id)
    started = time.monotonic()
    items, _ = paging.page(channel, 10, last, "newer")
    assert [m.split('"')[3] for m in items] == [newest] and time.monotonic() - started < 4


@pytest.fixture(scope="module")
def two_processes(settings, tmp_path_factory, app):
    """Two app processes on the test database and Redis, without rate limits (many sends a second)."""
    from tests.live import LiveServer
    from tests.realtime.conftest import live_env
    servers = [LiveServer(live_env(settings, tmp_path_factory, KRAKEN_RATE_LIMITS="false"),
                          tmp_path_factory.mktemp("logs") / f"jump-{name}.log").start() for name in "ab"]
    yield servers
    for server in servers:
        server.stop()


def test_tailing_newer_across_two_sending_processes_skips_nothing(community, two_processes):
    """Six writers send through two processes (each numbers its own batches) while a reader follows the
    newest message with direction=newer from the last id it saw: a number taken on one process and stored
    after a later one from the other is waited for, never skipped."""
    import requests
    channel = str(community.general.id)
    stop = threading.Event()
    errors: list[BaseException] = []
    sent = []

    def writer(url, name):
        http = requests.Session()
        headers = {"Authorization": f"Bearer {community.tokens[name]}"}
        try:
            while not stop.is_set():
                response = http.post(url + "/api/messages", json=text("tail", channel), headers=headers, timeout=10)
                assert response.status_code == 201, response.text
                sent.append(response.json()["id"])
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(server.url, name))
               for server in two_processes for name in ("admin", "mod", "pcmember")]
    for thread in writers:
        thread.start()
    reader = requests.Session()
    headers = {"Authorization": f"Bearer {community.tokens['member']}"}
    seen: list[str] = []

    def follow() -> int:
        url = f"{two_processes[0].url}/api/messages/channel/{channel}?direction=newer&limit=5"
        if seen:
            url += f"&continuationToken={seen[-1]}"
        response = reader.get(url, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        got = [m["id"] for m in response.json()["messages"]][::-1]
        seen.extend(got)
        return len(got)

    try:
        until = time.monotonic() + 4
        while time.monotonic() < until:
            follow()
    finally:
        stop.set()
        for thread in writers:
            thread.join(15)
    while follow():
        pass
    assert not errors, errors
    assert len(sent) >= 100, len(sent)
    stored = [str(m.id) for m in Message.objects(channel_id=community.general.id).order_by("seq")]
    assert sorted(stored) == sorted(sent)
    assert seen == stored, f"{len(set(stored) - set(seen))} skipped, {len(seen) - len(set(seen))} twice"


def stored_direct_messages(group_id, n, author_id):
    """`n` direct messages stored as the app stores them (numbered in their group), oldest first."""
    now = utcnow()
    docs = [{"directMessageGroupId": group_id, "authorId": author_id, "spans": [{"type": "PLAINTEXT", "text": f"d{i}"}],
             "attachments": [], "reactions": [], "sentAt": now} for i in range(n)]
    timeline.number(docs)
    mongoengine.get_db().messages.insert_many(docs)
    return [str(d["_id"]) for d in docs]


def test_a_direct_message_group_pages_and_jumps_as_a_channel(community, login_as):
    """The same functions serve a direct-message group (kraken.messages.paging on the group's id)."""
    group = community.dm_group  # admin, member, pcmember
    api = login_as(community.member)
    ids = stored_direct_messages(group.id, 150, community.member.id)
    base = f"/api/messages/group/{group.id}"

    def get(url):
        response = api.get(url)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    body = get(f"{base}?limit=50&direction=newer")
    assert [m["id"] for m in body["messages"]] == ids[:50][::-1] and body["continuationToken"] == ids[49]
    body = get(f"{base}?limit=50&direction=newer&continuationToken={ids[120]}")
    assert [m["id"] for m in body["messages"]] == ids[121:][::-1] and "continuationToken" not in body
    body = get(f"{base}/around/{ids[70]}?limit=11")
    assert [m["id"] for m in body["messages"]] == ids[65:76][::-1]
    assert (body["olderContinuationToken"], body["newerContinuationToken"]) == (ids[65], ids[75])
    assert all(m["directMessageGroupId"] == str(group.id) and m["channelId"] is None for m in body["messages"])
    body = get(f"{base}/around/{ids[-1]}?limit=11")
    assert [m["id"] for m in body["messages"]] == ids[-6:][::-1] and "newerContinuationToken" not in body
    assert api.delete(f"/api/messages/{ids[70]}").status_code == 204
    body = get(f"{base}/around/{ids[70]}?limit=11")
    assert [m["id"] for m in body["messages"]] == (ids[65:70] + ids[71:76])[::-1]
    # a message of a channel, of another group, or unknown: 404; the group's strangers: 404
    [in_channel] = stored_texts(community.general.id, 1, community.member.id)
    [in_other] = stored_direct_messages(community.dm.id, 1, community.member.id)
    for anchor in (in_channel, in_other, str(ObjectId())):
        response = api.get(f"{base}/around/{anchor}")
        assert response.status_code == 404 and response.get_json()["message"] == "Message not found"
    for stranger in (community.nopc, community.outsider, community.owner):
        assert login_as(stranger).get(f"{base}/around/{ids[3]}").status_code == 404
        assert login_as(stranger).get(f"{base}?direction=newer").status_code == 404
