"""markAsRead over real sockets: `readReceiptUpdated` reaches every tab of the reader, also one connected
to another process; out-of-order marks from two tabs keep the furthest; a DM's room learns who read."""
import time

import pytest

from tests.live import LiveServer
from tests.realtime.conftest import live_env
from tests.realtime.test_messaging_sockets import text


@pytest.fixture(scope="module")
def second(settings, tmp_path_factory, live):
    server = LiveServer(live_env(settings, tmp_path_factory), tmp_path_factory.mktemp("logs") / "b.log").start()
    yield server
    server.stop()


def _mark(message_id, **where):
    return {"lastReadMessageId": message_id, **where}


def test_mark_on_one_tab_reaches_the_other_on_another_process(live, second, sockets, community, login_as):
    c = community
    general = str(c.general.id)
    admin = sockets(live.url, c.tokens["admin"])
    tab_a = sockets(live.url, c.tokens["member"])      # process A
    tab_b = sockets(second.url, c.tokens["member"])    # process B
    for client in (admin, tab_a, tab_b):
        client.emit("subscribeAll")
    time.sleep(0.4)
    first = admin.call("sendMessage", text("one", general))
    newest = admin.call("sendMessage", text("two", general))
    # the author's own message is read on every one of their tabs
    assert admin.wait_for("readReceiptUpdated", lambda p: p["lastReadMessageId"] == newest)

    tab_a.emit("markAsRead", _mark(newest, channelId=general))
    got = tab_b.wait_for("readReceiptUpdated", lambda p: p["lastReadMessageId"] == newest)
    assert got["channelId"] == general and got["directMessageGroupId"] is None and got["lastReadAt"]
    # tab B was behind: its older mark does not move the watermark back, and both tabs are told so
    tab_b.emit("markAsRead", _mark(first, channelId=general))
    time.sleep(0.5)
    for tab in (tab_a, tab_b):
        updates = [p for p in tab.events.get("readReceiptUpdated", [])]
        assert len(updates) == 2 and all(p["lastReadMessageId"] == newest for p in updates), updates
    counts = login_as(c.member).get("/api/read-receipts/unread-counts").get_json()
    mine = next(item for item in counts if item.get("channelId") == general)
    assert mine["lastReadMessageId"] == newest and mine["unreadCount"] == 0
    # the author was told of their own two messages, never of the member's marks
    assert [p["lastReadMessageId"] for p in admin.events["readReceiptUpdated"]] == [first, newest]


def test_dm_mark_tells_the_group_who_read(live, sockets, community):
    c = community
    group = str(c.dm.id)
    member = sockets(live.url, c.tokens["member"])
    pcmember = sockets(live.url, c.tokens["pcmember"])
    nopc = sockets(live.url, c.tokens["nopc"])
    for client in (member, pcmember, nopc):
        client.emit("subscribeAll")
    time.sleep(0.4)
    sent = member.call("sendDirectMessage", {"directMessageGroupId": group,
                                             "spans": [{"type": "PLAINTEXT", "text": "psst"}]})
    pcmember.emit("markAsRead", _mark(sent, directMessageGroupId=group))
    seen = member.wait_for("readReceiptUpdated", lambda p: p.get("userId") == str(c.pcmember.id))
    assert seen["directMessageGroupId"] == group and seen["lastReadMessageId"] == sent
    assert seen["username"] == c.pcmember.username and "avatarUrl" in seen
    assert pcmember.wait_for("readReceiptUpdated", lambda p: "userId" not in p and p["lastReadMessageId"] == sent)
    assert not nopc.received("readReceiptUpdated")


def test_bad_mark_is_an_exception(live, sockets, community):
    c = community
    tab = sockets(live.url, c.tokens["member"])
    tab.emit("markAsRead", {"lastReadMessageId": "0" * 24, "channelId": str(c.general.id)})
    error = tab.wait_for("exception")
    assert error["code"] in ("VALIDATION_ERROR", "BAD_REQUEST") or "Message not found" in str(error), error
    tab.emit("markAsRead", {"channelId": str(c.general.id)})
    assert len(tab.events["exception"]) >= 1 and not tab.received("readReceiptUpdated")
