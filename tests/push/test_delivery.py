"""Pushes reach the browser: a real round trip of the protocol to the test's own push service on
loopback, which decrypts each push with the subscription's private key and auth secret (RFC 8291) and
checks the VAPID signature (RFC 8292). Notifications are pushed in the background, only to a recipient
without a live socket; subscriptions the push service no longer knows are deleted."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

import pytest
from bson import ObjectId
from py_vapid import Vapid02

from kraken import domain
from kraken.common.time import utcnow
from kraken.presence import service as presence
from kraken.push.models import PushKeys, PushSubscription
from kraken.realtime import background


@dataclass
class Notification:
    """Any object with the Notification's attributes (HELPERS.md) is pushed like the document."""

    user_id: ObjectId
    type: str
    author_id: ObjectId
    message_id: ObjectId | None = None
    channel_id: ObjectId | None = None
    community_id: ObjectId | None = None
    direct_message_group_id: ObjectId | None = None
    parent_message_id: ObjectId | None = None
    read: bool = False
    dismissed: bool = False
    id: ObjectId = None
    created_at: datetime = None

    def __post_init__(self):
        self.id = self.id or ObjectId()
        self.created_at = self.created_at or utcnow()


def subscribe(api, browser) -> None:
    assert api.post("/api/push/subscribe", json=browser.subscription()).status_code == 201


def notify(notification) -> None:
    """What the notifications service does after storing and publishing one."""
    domain.notification_created.send(notification)
    assert background.wait_soon(15)


def test_a_test_push_makes_the_whole_round_trip(app, alice, login_as, push_settings, push_service, browser):
    api = login_as(alice)
    mine = browser("/alice/1")
    subscribe(api, mine)
    response = api.post("/api/push/test")
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "sent": 1, "failed": 0,
                                   "message": "Push notification sent to 1 device(s)"}
    [got] = push_service.wait(1)
    assert got.path == "/alice/1"
    assert got.headers["ttl"] == "86400" and got.headers["urgency"] == "normal"
    pushed = mine.decrypt(got)
    assert pushed["title"] == "Test Push Notification" and pushed["data"] == {"type": "TEST"}
    assert pushed["tag"].startswith("test-")
    # signed with the instance's VAPID key, for this push service's origin
    public = PushKeys.objects.get(id="vapid").public_key
    scheme, _, params = got.headers["authorization"].partition(" ")
    assert scheme == "vapid" and f"k={public}" in params
    assert Vapid02.verify(got.headers["authorization"])


def test_a_notification_is_pushed_to_every_browser_of_its_recipient(app, community, login_as, push_settings,
                                                                    push_service, browser):
    member = community.member
    phone, laptop = browser("/member/phone"), browser("/member/laptop")
    api = login_as(member)
    subscribe(api, phone)
    subscribe(api, laptop)
    subscribe(login_as(community.admin), browser("/admin"))  # someone else's: nothing goes there
    text = "Lunch at noon? " + "x" * 120
    message = community.factory.message(community.general, community.admin, text)
    notification = Notification(user_id=member.id, type="USER_MENTION", author_id=community.admin.id,
                                message_id=message.id, channel_id=community.general.id, community_id=community.id)
    notify(notification)
    received = push_service.wait(2)
    assert sorted(r.path for r in received) == ["/member/laptop", "/member/phone"]
    for got in received:
        pushed = (phone if got.path.endswith("phone") else laptop).decrypt(got)
        assert pushed == {
            "title": f"#{community.general.name}",
            "body": f"{community.admin.display_name or community.admin.username}: {text[:100]}...",
            "tag": str(notification.id),
            "data": {"notificationId": str(notification.id), "channelId": str(community.general.id),
                     "communityId": str(community.id), "directMessageGroupId": None, "type": "USER_MENTION"}}
        assert got.headers["ttl"] == "86400" and got.headers["urgency"] == "normal"


def test_a_direct_message_notification_says_who_wrote(app, community, login_as, push_settings, push_service, browser):
    member, pcmember = community.member, community.pcmember
    mine = browser("/member")
    subscribe(login_as(member), mine)
    message = community.factory.direct_message(community.dm, pcmember, "hi there")
    notification = Notification(user_id=member.id, type="DIRECT_MESSAGE", author_id=pcmember.id,
                                message_id=message.id, direct_message_group_id=community.dm.id)
    notify(notification)
    pushed = mine.decrypt(push_service.wait(1)[0])
    name = pcmember.display_name or pcmember.username
    assert pushed["title"] == f"Message from {name}" and pushed["body"] == f"{name}: hi there"
    assert pushed["data"] == {"notificationId": str(notification.id), "channelId": None, "communityId": None,
                              "directMessageGroupId": str(community.dm.id), "type": "DIRECT_MESSAGE"}


@pytest.mark.parametrize("kind, body", [("USER_MENTION", "{name} mentioned you"), ("DIRECT_MESSAGE", "New message"),
                                        ("THREAD_REPLY", "{name} replied to a thread"),
                                        ("CHANNEL_MESSAGE", "{name} sent a message")])
def test_without_a_message_the_body_falls_back(app, alice, bob, login_as, push_settings, push_service, browser,
                                               kind, body):
    mine = browser("/alice")
    subscribe(login_as(alice), mine)
    notify(Notification(user_id=alice.id, type=kind, author_id=bob.id))
    pushed = mine.decrypt(push_service.wait(1)[0])
    name = bob.display_name or bob.username
    assert pushed["body"] == body.format(name=name)
    assert pushed["title"] == (f"Message from {name}" if kind == "DIRECT_MESSAGE" else "New notification")


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_forgot_is_deleted(app, alice, login_as, push_settings, push_service, browser,
                                                           status):
    gone, alive = browser("/gone"), browser("/alive")
    push_service.statuses["/gone"] = status
    api = login_as(alice)
    subscribe(api, gone)
    subscribe(api, alive)
    notify(Notification(user_id=alice.id, type="USER_MENTION", author_id=alice.id))
    assert sorted(r.path for r in push_service.wait(2)) == ["/alive", "/gone"]
    assert [s.endpoint for s in PushSubscription.objects] == [alive.endpoint]
    response = api.post("/api/push/test").get_json()
    assert (response["sent"], response["failed"]) == (1, 0)


def test_a_failing_or_redirecting_push_service_counts_as_failed_and_keeps_the_subscription(
        app, alice, login_as, push_settings, push_service, browser):
    push_service.statuses.update({"/busy": 503, "/moved": 302})
    api = login_as(alice)
    for path in ("/busy", "/moved"):
        subscribe(api, browser(path))
    assert api.post("/api/push/test").get_json() == {"success": False, "sent": 0, "failed": 2,
                                                     "message": "No active push subscriptions found"}
    assert sorted(r.path for r in push_service.wait(2)) == ["/busy", "/moved"]  # the redirect was not followed
    assert PushSubscription.objects.count() == 2


def test_an_unreachable_push_service_fails_that_browser_only(app, alice, login_as, push_settings, push_service, browser):
    from tests.live import free_port
    api = login_as(alice)
    subscribe(api, browser("/ok"))
    dead = browser()
    dead.endpoint = f"http://127.0.0.1:{free_port()}/nobody"
    subscribe(api, dead)
    assert api.post("/api/push/test").get_json()["sent"] == 1
    assert PushSubscription.objects.count() == 2


def test_the_owners_debug_push(app, owner, login_as, push_settings, push_service, browser):
    mine = browser("/owner")
    api = login_as(owner)
    subscribe(api, mine)
    assert api.post("/api/push/debug/send-test").get_json()["sent"] == 1
    pushed = mine.decrypt(push_service.wait(1)[0])
    assert pushed["title"] == "Test Push Notification" and pushed["data"] == {"type": "DEBUG"}


def test_no_subscription_no_push(app, alice, login_as, push_settings, push_service):
    assert login_as(alice).post("/api/push/test").get_json() == {
        "success": False, "sent": 0, "failed": 0, "message": "No active push subscriptions found"}
    notify(Notification(user_id=alice.id, type="USER_MENTION", author_id=alice.id))
    assert push_service.received == []


def test_a_recipient_with_a_live_socket_gets_no_push(app, live, sockets, community, login_as, push_settings,
                                                     push_service, browser):
    member = community.member
    mine = browser("/member")
    subscribe(login_as(member), mine)
    client = sockets(live.url, community.tokens["member"])  # the live server shares this Redis DB
    assert presence.has_live_socket(str(member.id))
    notify(Notification(user_id=member.id, type="USER_MENTION", author_id=community.admin.id))
    assert push_service.received == []  # delivery ran (wait_soon) and sent nothing

    closed = threading.Event()
    client.sio.on("disconnect", lambda *_: closed.set())
    client.close()
    assert closed.wait(5)
    deadline = time.monotonic() + 5  # the server forgets the socket after the client's close
    while presence.has_live_socket(str(member.id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    notify(Notification(user_id=member.id, type="USER_MENTION", author_id=community.admin.id))
    assert mine.decrypt(push_service.wait(1)[0])["body"].endswith("mentioned you")


def test_push_happens_after_the_sender_returns(app, alice, login_as, push_settings, push_service, browser):
    """The signal's receiver only schedules: a slow push service never delays the notification's sender."""
    push_service.statuses["/slow"] = 201
    subscribe(login_as(alice), browser("/slow"))
    gate = threading.Event()
    original = push_service.server.RequestHandlerClass.do_POST

    def slow(self):
        gate.wait(10)
        original(self)

    push_service.server.RequestHandlerClass.do_POST = slow
    domain.notification_created.send(Notification(user_id=alice.id, type="USER_MENTION", author_id=alice.id))
    assert push_service.received == []  # the sender is back while the push service still holds the push
    gate.set()
    assert background.wait_soon(15) and len(push_service.wait(1)) == 1


def test_a_receiver_error_never_reaches_the_notifications_sender(app, alice, push_settings, caplog):
    class Broken:
        @property
        def user_id(self):
            raise RuntimeError("unreadable")

    domain.notification_created.send(Broken())  # logged, not raised
    assert background.wait_soon(15)
    assert "push not scheduled" in caplog.text


def test_a_mention_sent_through_the_api_is_pushed(app, community, login_as, push_settings, push_service, browser):
    """The whole path: a send stores the message, the notification fan-out runs in a background task
    after the answer, and the push it schedules (another background task) reaches the browser."""
    member = community.member
    mine = browser("/member/mention")
    subscribe(login_as(member), mine)
    sent = login_as(community.admin).post("/api/messages", json={
        "channelId": str(community.general.id), "attachments": [],
        "spans": [{"type": "USER_MENTION", "userId": str(member.id)}, {"type": "PLAINTEXT", "text": " standup?"}]})
    assert sent.status_code == 201, sent.get_json()
    assert background.wait_soon(15)
    [got] = push_service.wait(1)
    pushed = mine.decrypt(got)
    assert pushed["data"]["type"] == "USER_MENTION" and pushed["data"]["channelId"] == str(community.general.id)
    assert pushed["body"].endswith("standup?")
