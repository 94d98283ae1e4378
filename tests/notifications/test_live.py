"""Notifications over real sockets and processes: a send on process A notifies the recipient's socket
on process B (`newNotification` through the queue); `notificationRead` reaches the reader's other tab."""
from __future__ import annotations

import time

from tests.notifications.test_notifications import mention


def test_a_send_on_one_process_notifies_a_socket_on_another(live, live_b, sockets, community, login_as):
    c = community
    author = sockets(live.url, c.tokens["admin"])       # process A
    recipient = sockets(live_b.url, c.tokens["member"])  # process B
    other = sockets(live_b.url, c.tokens["nopc"])
    local = sockets(live.url, c.tokens["pcmember"])     # on the sender's process: delivered there at once
    for client in (author, recipient, other, local):
        client.emit("subscribeAll")
    time.sleep(0.3)
    message_id = author.call("sendMessage", {"channelId": str(c.general.id),
                                             "spans": mention(c.member) + mention(c.pcmember)})
    got = recipient.wait_for("newNotification", lambda p: p["messageId"] == message_id)
    mine = local.wait_for("newNotification", lambda p: p["messageId"] == message_id)
    assert mine["notificationId"] != got["notificationId"] and mine["type"] == "USER_MENTION"
    assert got["type"] == "USER_MENTION" and got["channelId"] == str(c.general.id) and got["read"] is False
    assert got["communityId"] == str(c.doc.id) and got["channelName"] == c.general.name
    assert got["author"]["id"] == str(c.admin.id) and got["authorId"] == str(c.admin.id)
    assert got["message"]["id"] == message_id and got["directMessageGroupId"] is None and got["createdAt"]
    assert "parentMessageId" not in got and "dismissed" not in got
    # the read on one tab reaches the reader's tab on the other process; nobody else heard anything
    api = login_as(c.member)
    assert api.post(f"/api/notifications/{got['notificationId']}/read").status_code == 200
    assert recipient.wait_for("notificationRead", lambda p: p == {"notificationId": got["notificationId"]})
    assert other.received("newNotification") == [] and other.received("notificationRead") == []
    assert author.received("newNotification") == [] and len(local.received("newNotification")) == 1
    assert len(recipient.received("newNotification")) == 1
