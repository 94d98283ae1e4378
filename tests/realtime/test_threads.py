"""Threads (kraken-head-features §1, docs/decisions/0044-threads.md): replies through the service and
the socket, the REST reads, subscriptions, deletes, permissions, and exact counts under concurrency
from two processes."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kraken.files.models import File
from kraken.messages import recent
from kraken.messages.models import Message
from kraken.threads import service as threads
from kraken.threads.models import ThreadSubscriber
from kraken.threads.schemas import ThreadReplyIn
from tests.live import LiveServer
from tests.realtime.conftest import live_env


def reply(author, parent, text="re", **body):
    return threads.reply(author, ThreadReplyIn.model_validate(
        {"parentMessageId": str(parent.id if hasattr(parent, "id") else parent),
         "spans": [{"type": "PLAINTEXT", "text": text}], **body}))


def payload(parent_id, text="re"):
    return {"parentMessageId": str(parent_id), "spans": [{"type": "PLAINTEXT", "text": text}]}


def test_replies_are_counted_on_the_parent_and_kept_out_of_channel_history(community, factory, login_as):
    root = factory.send(community.member, community.general, "root")
    replies = [reply(author, root, f"r{i}") for i, author in
               enumerate((community.pcmember, community.admin, community.pcmember))]
    api = login_as(community.member)
    history = api.get(f"/api/messages/channel/{community.general.id}").get_json()["messages"]
    assert [m["id"] for m in history] == [str(root.id)]
    assert history[0]["replyCount"] == 3 and history[0]["lastReplyAt"].endswith("Z")
    assert history[0]["parentMessageId"] is None
    page = api.get(f"/api/threads/{root.id}/replies").get_json()
    assert [m["id"] for m in page["replies"]] == [str(r.id) for r in replies] and "continuationToken" not in page
    first = page["replies"][0]
    assert first["parentMessageId"] == str(root.id) and first["channelId"] == str(community.general.id)
    assert first["replyCount"] == 0 and first["lastReplyAt"] is None
    meta = api.get(f"/api/threads/{root.id}/metadata").get_json()
    assert meta == {"parentMessageId": str(root.id), "replyCount": 3, "lastReplyAt": history[0]["lastReplyAt"],
                    "isSubscribed": False}
    assert login_as(community.pcmember).get(f"/api/threads/{root.id}/metadata").get_json()["isSubscribed"] is True
    # a reply's own metadata: no thread, no nesting check
    assert api.get(f"/api/threads/{replies[0].id}/metadata").get_json()["replyCount"] == 0
    assert api.get(f"/api/messages/{replies[0].id}").get_json()["parentMessageId"] == str(root.id)


@pytest.mark.parametrize("keep", [200, 5])  # 5: longer than the recent list, read from the buckets
def test_replies_page_oldest_first_after_the_token(community, factory, login_as, monkeypatch, keep):
    monkeypatch.setattr(recent, "KEEP", keep)
    root = factory.send(community.member, community.general, "root")
    ids = [str(reply(community.member, root, f"r{i}").id) for i in range(8)]
    api = login_as(community.member)
    seen, token = [], None
    while True:
        page = api.get(f"/api/threads/{root.id}/replies?limit=3" + (f"&continuationToken={token}" if token else ""))
        assert page.status_code == 200
        body = page.get_json()
        seen += [m["id"] for m in body["replies"]]
        token = body.get("continuationToken")
        if not token:
            break
    assert seen == ids
    full = api.get(f"/api/threads/{root.id}/replies?limit=8").get_json()
    assert full["continuationToken"] == ids[-1]
    assert api.get(f"/api/threads/{root.id}/replies?continuationToken={ids[-1]}").get_json() == {"replies": []}
    other = factory.send(community.member, community.general, "other")
    assert api.get(f"/api/threads/{root.id}/replies?continuationToken={other.id}").get_json() == {"replies": []}
    for bad in ("limit=0", "limit=101", "limit=x", "continuationToken=zz"):
        assert api.get(f"/api/threads/{root.id}/replies?{bad}").status_code == 400
    # a deleted reply's id keeps its place as a token
    assert api.delete(f"/api/messages/{ids[2]}").status_code == 204
    after = api.get(f"/api/threads/{root.id}/replies?limit=2&continuationToken={ids[2]}").get_json()
    assert [m["id"] for m in after["replies"]] == ids[3:5]


def test_nested_threads_are_refused(community, factory, login_as):
    root = factory.send(community.member, community.general, "root")
    first = reply(community.member, root)
    api = login_as(community.member)
    with pytest.raises(Exception) as raised:
        reply(community.member, first)
    assert getattr(raised.value, "status", None) == 400 and "nested" in str(raised.value)
    refused = api.post(f"/api/threads/{first.id}/subscribe")
    assert refused.status_code == 400 and refused.get_json()["message"] == "Cannot create nested threads"
    assert api.delete(f"/api/threads/{first.id}/subscribe").status_code == 204
    assert Message.objects(parent_message_id=first.id).count() == 0


def test_subscribe_and_unsubscribe_are_idempotent(community, factory, login_as):
    root = factory.send(community.member, community.general, "root")
    api = login_as(community.admin)
    for _ in range(2):
        assert api.post(f"/api/threads/{root.id}/subscribe").status_code == 204
    assert ThreadSubscriber.objects(parent_message_id=root.id).count() == 1
    assert api.get(f"/api/threads/{root.id}/metadata").get_json()["isSubscribed"] is True
    for _ in range(2):
        assert api.delete(f"/api/threads/{root.id}/subscribe").status_code == 204
    assert api.get(f"/api/threads/{root.id}/metadata").get_json()["isSubscribed"] is False
    missing = api.post("/api/threads/0123456789abcdef01234567/subscribe")
    assert missing.status_code == 404 and missing.get_json()["message"] == "Parent message not found"
    assert api.get("/api/threads/0123456789abcdef01234567/replies").status_code == 404
    assert api.get("/api/threads/0123456789abcdef01234567/metadata").get_json()["message"] == "Message not found"
    assert api.get("/api/threads/nope/replies").status_code in (400, 404)


def test_deleting_a_reply_counts_one_less_and_deleting_the_parent_deletes_the_thread(community, factory, login_as):
    root = factory.send(community.member, community.general, "root")
    upload = factory.file(community.pcmember, community.general)
    with_file = reply(community.pcmember, root, "with a file", attachments=[str(upload.id)])
    plain = reply(community.member, root)
    api = login_as(community.member)
    assert api.delete(f"/api/messages/{plain.id}").status_code == 204
    assert Message.objects(id=root.id).first().reply_count == 1
    parent_json = api.get(f"/api/messages/channel/{community.general.id}").get_json()["messages"][0]
    assert parent_json["replyCount"] == 1  # the channel's cached page follows
    assert api.delete(f"/api/messages/{root.id}").status_code == 204
    assert Message.objects(id=with_file.id).count() == 0 and File.objects(id=upload.id).count() == 0
    assert ThreadSubscriber.objects(parent_message_id=root.id).count() == 0
    assert api.get(f"/api/threads/{root.id}/replies").status_code == 404


def test_replying_needs_sending_and_reading_needs_reading(community, factory, login_as):
    secret = factory.send(community.pcmember, community.private, "staff")
    reply(community.pcmember, secret)
    assert login_as(community.member).get(f"/api/threads/{secret.id}/replies").status_code == 404
    assert login_as(community.outsider).get(f"/api/threads/{secret.id}/metadata").status_code == 404
    assert login_as(community.pcmember).get(f"/api/threads/{secret.id}/replies").status_code == 200
    with pytest.raises(Exception) as raised:
        reply(community.member, secret)
    assert getattr(raised.value, "status", None) == 404
    general = factory.send(community.member, community.general, "hi")
    with pytest.raises(Exception) as raised:
        reply(community.outsider, general)
    assert getattr(raised.value, "status", None) == 403
    assert Message.objects(id=general.id).first().reply_count is None


# --- sockets ------------------------------------------------------------------------------------


def test_send_thread_reply_acks_the_id_and_broadcasts_the_reply_then_the_count(live, sockets, community, factory):
    root = factory.send(community.member, community.general, "root")
    member = sockets(live.url, community.tokens["member"])
    pcmember = sockets(live.url, community.tokens["pcmember"])
    for client in (member, pcmember):
        client.emit("joinAll", str(community.id))
    time.sleep(0.3)
    ack = pcmember.call("sendThreadReply", payload(root.id, "in thread"))
    assert isinstance(ack, str) and len(ack) == 24
    got = member.wait_for("newThreadReply", lambda p: p["reply"]["id"] == ack)
    assert got["parentMessageId"] == str(root.id) and got["reply"]["spans"][0]["text"] == "in thread"
    count = member.wait_for("threadReplyCountUpdated")
    assert count["parentMessageId"] == str(root.id) and count["replyCount"] == 1
    assert count["channelId"] == str(community.general.id) and count["directMessageGroupId"] is None
    assert count["lastReplyAt"].endswith("Z")
    assert pcmember.wait_for("newThreadReply")  # the sender too
    assert not member.received("newMessage", lambda p: p["message"]["id"] == ack)
    # bad input: an exception, no ack
    for bad in ({"spans": [{"type": "PLAINTEXT", "text": "x"}]}, payload("zz"), payload(ack),
                payload("0123456789abcdef01234567")):
        pcmember.emit("sendThreadReply", bad)
    time.sleep(0.5)
    codes = [e["code"] for e in pcmember.received("exception", lambda e: e["cause"]["pattern"] == "sendThreadReply")]
    assert sorted(codes) == ["NESTED_THREAD", "NOT_FOUND", "VALIDATION_FAILED", "VALIDATION_FAILED"]  # in any order
    # deleting the reply counts one less, announced
    member.events.pop("threadReplyCountUpdated", None)
    assert community.api("pcmember").delete(f"/api/messages/{ack}").status_code == 204
    assert member.wait_for("threadReplyCountUpdated", lambda p: p["replyCount"] == 0)
    assert member.wait_for("deleteMessage", lambda p: p["messageId"] == ack)


@pytest.fixture(scope="module")
def pair(settings, tmp_path_factory, live):
    """Two more app processes without rate limits (50 replies at once)."""
    servers = [LiveServer(live_env(settings, tmp_path_factory, KRAKEN_RATE_LIMITS="false"),
                          tmp_path_factory.mktemp("logs") / f"threads-{i}.log").start() for i in range(2)]
    yield servers
    for server in servers:
        server.stop()


def test_fifty_concurrent_replies_from_two_processes_count_fifty(pair, sockets, community, factory):
    root = factory.send(community.member, community.general, "root")
    a = sockets(pair[0].url, community.tokens["member"])
    b = sockets(pair[1].url, community.tokens["pcmember"])
    watcher = sockets(pair[1].url, community.tokens["admin"])
    watcher.emit("joinAll", str(community.id))
    time.sleep(0.3)

    def send(i):
        client = a if i % 2 else b
        return client.call("sendThreadReply", payload(root.id, f"r{i}"), timeout=15)

    with ThreadPoolExecutor(max_workers=16) as pool:
        acks = list(pool.map(send, range(50)))
    assert len(set(acks)) == 50
    stored = Message.objects(id=root.id).first()
    assert stored.reply_count == 50
    assert Message.objects(parent_message_id=root.id).count() == 50
    newest = max(Message.objects(parent_message_id=root.id).scalar("sent_at"))
    assert stored.last_reply_at == newest
    deadline = time.monotonic() + 5
    while len(watcher.received("threadReplyCountUpdated")) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    counts = sorted(p["replyCount"] for p in watcher.received("threadReplyCountUpdated"))
    assert counts == list(range(1, 51))  # each reply announced the count its own update made
    api = community.api("member")
    page = api.get(f"/api/threads/{root.id}/replies?limit=100").get_json()
    assert sorted(m["id"] for m in page["replies"]) == sorted(acks)
    assert api.get(f"/api/threads/{root.id}/metadata").get_json()["replyCount"] == 50


def test_a_reply_on_one_process_updates_the_count_on_the_other(pair, sockets, community, factory):
    root = factory.send(community.member, community.general, "root")
    sender = sockets(pair[0].url, community.tokens["member"])
    other = sockets(pair[1].url, community.tokens["pcmember"])
    for client in (sender, other):
        client.emit("joinAll", str(community.id))
    time.sleep(0.4)
    ack = sender.call("sendThreadReply", payload(root.id, "across"))
    assert other.wait_for("newThreadReply", lambda p: p["reply"]["id"] == ack)
    assert other.wait_for("threadReplyCountUpdated", lambda p: p["parentMessageId"] == str(root.id))["replyCount"] == 1
    history = community.api("pcmember").get(f"/api/messages/channel/{community.general.id}").get_json()["messages"]
    assert history[0]["id"] == str(root.id) and history[0]["replyCount"] == 1


def test_a_direct_message_has_a_thread_in_its_group_room(live, sockets, community, factory, login_as):
    root = factory.direct_message(community.dm_group, community.member, "dm root")
    admin = sockets(live.url, community.tokens["admin"])  # in the group
    admin.emit("subscribeAll")
    time.sleep(0.3)
    ack = sockets(live.url, community.tokens["pcmember"]).call("sendThreadReply", payload(root.id, "dm reply"))
    got = admin.wait_for("newThreadReply", lambda p: p["reply"]["id"] == ack)
    assert got["reply"]["directMessageGroupId"] == str(community.dm_group.id) and got["reply"]["channelId"] is None
    count = admin.wait_for("threadReplyCountUpdated", lambda p: p["parentMessageId"] == str(root.id))
    assert count["replyCount"] == 1 and count["directMessageGroupId"] == str(community.dm_group.id)
    assert count["channelId"] is None
    history = login_as(community.member).get(f"/api/messages/group/{community.dm_group.id}").get_json()["messages"]
    assert [m["id"] for m in history] == [str(root.id)] and history[0]["replyCount"] == 1
    page = login_as(community.admin).get(f"/api/threads/{root.id}/replies").get_json()
    assert [m["id"] for m in page["replies"]] == [ack]
    assert login_as(community.mod).get(f"/api/threads/{root.id}/replies").status_code == 404  # not in the group
