"""Real clients over real sockets against a live server: messaging, rooms, security, limits.
Everyone is in the `community` fixture (Club, tests/factories.py)."""
import time

import pytest

from kraken.memberships import service as memberships
from kraken.messages.models import Message


def text(value, channel_id, **extra):
    return {"channelId": str(channel_id), "spans": [{"type": "PLAINTEXT", "text": value}], "attachments": [],
            "reactions": [], **extra}


def test_connect_without_or_with_a_bad_token_is_refused(live, sockets, community):
    import socketio
    for token in (None, "not-a-jwt", community.tokens["admin"][:-4] + "AAAA"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            sockets(live.url, token)


def test_send_acks_the_stored_id_and_members_receive_it(live, sockets, community):
    admin = sockets(live.url, community.tokens["admin"])
    pcmember = sockets(live.url, community.tokens["pcmember"])
    for client in (admin, pcmember):
        client.emit("joinAll", str(community.id))
    time.sleep(0.3)
    ack = admin.call("sendMessage", text("hello squid", community.general.id))
    assert isinstance(ack, str) and len(ack) == 24
    stored = Message.objects(id=ack).first()
    assert stored is not None and stored.spans[0]["text"] == "hello squid"
    got = pcmember.wait_for("newMessage", lambda p: p["message"]["id"] == ack)
    assert got is not None
    message = got["message"]
    assert message["authorId"] == str(community.admin.id) and message["channelId"] == str(community.general.id)
    assert message["spans"][0] == {"type": "PLAINTEXT", "text": "hello squid", "userId": None, "specialKind": None,
                                   "channelId": None, "communityId": None, "aliasId": None}
    assert message["sentAt"].endswith("Z") and message["editedAt"] is None
    assert admin.wait_for("newMessage", lambda p: p["message"]["id"] == ack)  # the sender too


def test_rooms_are_only_joined_where_the_user_may_read(live, sockets, community):
    pcmember = sockets(live.url, community.tokens["pcmember"])
    member = sockets(live.url, community.tokens["member"])
    outsider = sockets(live.url, community.tokens["outsider"])
    outsider.emit("joinRoom", str(community.general.id))
    assert outsider.wait_for("exception")["code"] == "NOT_A_MEMBER"
    outsider.emit("joinAll", str(community.id))
    assert len(outsider.received("exception")) >= 1 and outsider.wait_for("exception", lambda e: e["cause"]["pattern"] == "joinAll")
    member.emit("joinRoom", str(community.private.id))
    assert member.wait_for("exception")["code"] == "NOT_FOUND"
    member.emit("joinAll", str(community.id))
    pcmember.emit("joinAll", str(community.id))
    time.sleep(0.3)
    pcmember.call("sendMessage", text("staff only", community.private.id))
    pcmember.call("sendMessage", text("everyone", community.general.id))
    assert member.wait_for("newMessage", lambda p: p["message"]["spans"][0]["text"] == "everyone")
    assert not member.received("newMessage", lambda p: p["message"]["spans"][0]["text"] == "staff only")
    assert not outsider.received("newMessage")
    # and an outsider cannot post into the community
    outsider.emit("sendMessage", text("intrusion", community.general.id))
    assert outsider.wait_for("exception", lambda e: e["cause"]["pattern"] == "sendMessage")["code"] == "NOT_A_MEMBER"
    assert Message.objects(channel_id=community.general.id).count() == 1


def test_leave_room_stops_delivery(live, sockets, community):
    admin = sockets(live.url, community.tokens["admin"])
    pcmember = sockets(live.url, community.tokens["pcmember"])
    pcmember.emit("joinRoom", str(community.general.id))
    time.sleep(0.2)
    pcmember.emit("leaveRoom", str(community.general.id))
    time.sleep(0.2)
    admin.call("sendMessage", text("gone", community.general.id))
    time.sleep(0.5)
    assert not pcmember.received("newMessage")


def test_a_removed_member_stops_receiving_within_a_second(live, sockets, community):
    admin = sockets(live.url, community.tokens["admin"])
    member = sockets(live.url, community.tokens["member"])
    member.emit("joinAll", str(community.id))
    time.sleep(0.3)
    admin.call("sendMessage", text("before", community.general.id))
    assert member.wait_for("newMessage")
    memberships.remove(community.id, community.member.id)  # publishes the room changes through Redis
    time.sleep(1.0)
    admin.call("sendMessage", text("after", community.general.id))
    time.sleep(0.7)
    assert not member.received("newMessage", lambda p: p["message"]["spans"][0]["text"] == "after")
    member.emit("sendMessage", text("still here?", community.general.id))
    assert member.wait_for("exception", lambda e: e["cause"]["pattern"] == "sendMessage")


def test_private_channel_removal_stops_delivery(live, sockets, community):
    from kraken.channel_memberships import service as channel_memberships
    admin = sockets(live.url, community.tokens["admin"])
    pcmember = sockets(live.url, community.tokens["pcmember"])
    pcmember.emit("joinAll", str(community.id))
    time.sleep(0.3)
    admin.call("sendMessage", text("secret 1", community.private.id))
    assert pcmember.wait_for("newMessage")
    channel_memberships.remove(community.private, str(community.pcmember.id))
    time.sleep(1.0)
    admin.call("sendMessage", text("secret 2", community.private.id))
    time.sleep(0.7)
    assert not pcmember.received("newMessage", lambda p: p["message"]["spans"][0]["text"] == "secret 2")


@pytest.mark.parametrize("payload", [
    {"channelId": {"$ne": None}, "spans": [{"type": "PLAINTEXT", "text": "x"}]},
    {"channelId": "CHANNEL", "spans": [{"type": "PLAINTEXT", "text": {"$gt": ""}}]},
    {"channelId": "CHANNEL", "spans": [{"type": "USER_MENTION", "userId": {"$ne": None}}]},
    {"channelId": "CHANNEL", "spans": [{"type": "PLAINTEXT", "text": "\u200b\u200b \u200d"}]},
    {"channelId": "CHANNEL", "spans": []},
    {"channelId": "CHANNEL", "spans": [{"type": "NOPE", "text": "x"}]},
    {"channelId": "CHANNEL", "spans": [{"type": "PLAINTEXT", "text": "x" * 4001}]},
    {"channelId": "CHANNEL", "spans": [{"type": "PLAINTEXT", "text": "x"}] * 201},
    {"channelId": "not-an-id", "spans": [{"type": "PLAINTEXT", "text": "x"}]},
    "just a string",
    None,
])
def test_invalid_or_operator_payloads_are_rejected_and_nothing_is_stored(live, sockets, community, payload):
    admin = sockets(live.url, community.tokens["admin"])
    if isinstance(payload, dict) and payload.get("channelId") == "CHANNEL":
        payload = {**payload, "channelId": str(community.general.id)}
    admin.emit("sendMessage", payload)
    error = admin.wait_for("exception")
    assert error is not None and error["status"] == "error" and error["cause"] == {"pattern": "sendMessage"}
    assert error["code"] in ("VALIDATION_FAILED", "INVALID_OBJECT_ID")
    assert Message.objects.count() == 0


def test_mentions_must_point_inside_the_community(live, sockets, community):
    admin = sockets(live.url, community.tokens["admin"])
    ok = admin.call("sendMessage", {"channelId": str(community.general.id), "spans": [
        {"type": "USER_MENTION", "userId": str(community.pcmember.id), "text": "@pcmember"},
        {"type": "SPECIAL_MENTION", "specialKind": "here"},
        {"type": "CHANNEL_MENTION", "channelId": str(community.general.id)}]})
    assert len(ok) == 24
    admin.emit("sendMessage", {"channelId": str(community.general.id),
                               "spans": [{"type": "USER_MENTION", "userId": str(community.outsider.id)}]})
    assert admin.wait_for("exception")["code"] == "VALIDATION_FAILED"
    admin.emit("sendMessage", {"channelId": str(community.general.id),
                               "spans": [{"type": "CHANNEL_MENTION", "channelId": str(community.elsewhere_general.id)}]})
    assert len(admin.received("exception")) == 2 or admin.wait_for("exception", lambda e: len(admin.received("exception")) == 2)
    assert Message.objects.count() == 1


def test_oversize_payload_gets_an_exception_and_nothing_is_stored(live, sockets, community):
    admin = sockets(live.url, community.tokens["admin"])
    admin.emit("sendMessage", text("x" * 70_000, community.general.id))
    error = admin.wait_for("exception")
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert admin.connected
    assert Message.objects.count() == 0


def test_a_flood_is_cut_off_with_an_exception(live, sockets, community):
    admin = sockets(live.url, community.tokens["admin"])
    for i in range(30):
        admin.emit("sendMessage", text(f"flood {i}", community.general.id))
    assert admin.wait_for("exception", lambda e: e["code"] == "TOO_MANY_REQUESTS")
    time.sleep(0.5)
    stored = Message.objects.count()
    assert 1 <= stored <= 10
    rejected = len(admin.received("exception", lambda e: e["code"] == "TOO_MANY_REQUESTS"))
    assert stored + rejected == 30


def test_nonce_makes_a_send_idempotent(live, sockets, community):
    admin = sockets(live.url, community.tokens["admin"])
    first = admin.call("sendMessage", text("once", community.general.id, nonce="n-123"))
    second = admin.call("sendMessage", text("once", community.general.id, nonce="n-123"))
    assert first == second
    assert Message.objects.count() == 1
    assert Message.objects.first().nonce == "n-123"


def test_presence_online_acks(live, sockets, community):
    admin = sockets(live.url, community.tokens["admin"])
    assert admin.call("presenceOnline", {}) == "ACK"


def test_typing_reaches_others_in_the_room_but_not_the_sender(live, sockets, community):
    admin = sockets(live.url, community.tokens["admin"])
    pcmember = sockets(live.url, community.tokens["pcmember"])
    for client in (admin, pcmember):
        client.emit("joinAll", str(community.id))
    time.sleep(0.3)
    admin.emit("typingStart", {"channelId": str(community.general.id)})
    got = pcmember.wait_for("userTyping")
    assert got == {"userId": str(community.admin.id), "channelId": str(community.general.id), "isTyping": True}
    admin.emit("typingStop", {"channelId": str(community.general.id)})
    assert pcmember.wait_for("userTyping", lambda p: p["isTyping"] is False)
    time.sleep(0.2)
    assert not admin.received("userTyping")
    admin.emit("typingStart", {"channelId": str(community.elsewhere_general.id)})  # not in that room
    assert admin.wait_for("exception")["cause"]["pattern"] == "typingStart"


def test_logout_and_disable_close_live_sockets(live, sockets, community, app):
    from kraken.auth.service import start_session
    from kraken.users import service as users
    session = start_session(community.pcmember)
    pcmember = sockets(live.url, session.access_token)
    other_session = sockets(live.url, community.tokens["pcmember"])
    client = app.test_client()
    client.set_cookie("refresh_token", session.refresh_token)
    assert client.post("/api/auth/logout").status_code == 201
    deadline = time.time() + 2
    while pcmember.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not pcmember.connected
    assert other_session.connected  # another device's session is untouched
    users.set_disabled(str(community.pcmember.id), True)
    deadline = time.time() + 2
    while other_session.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not other_session.connected


def test_an_expired_token_gets_an_exception_then_a_disconnect(live, sockets, community):
    from datetime import timedelta
    from flask_jwt_extended import create_access_token
    token = create_access_token(identity=str(community.admin.id), expires_delta=timedelta(seconds=2),
                                additional_claims={"username": "admin", "role": "USER", "sid": None})
    admin = sockets(live.url, token)
    time.sleep(2.5)
    admin.emit("sendMessage", text("too late", community.general.id))
    error = admin.wait_for("exception")
    assert error["code"] == "UNAUTHORIZED"
    deadline = time.time() + 2
    while admin.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not admin.connected and Message.objects.count() == 0


def test_password_change_closes_the_other_sessions_sockets_within_a_second(live, sockets, community, app):
    from kraken.auth.service import change_password, start_session
    kept = start_session(community.pcmember)
    here = sockets(live.url, kept.access_token)
    elsewhere = sockets(live.url, community.tokens["pcmember"])
    change_password(community.pcmember, "correct horse battery", "a brand new password", keep_session=_sid(kept.access_token))
    deadline = time.time() + 1.0
    while elsewhere.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not elsewhere.connected
    assert here.connected and here.call("presenceOnline", {}) == "ACK"
    import socketio
    with pytest.raises(socketio.exceptions.ConnectionError):
        sockets(live.url, community.tokens["pcmember"])  # the old session's token is refused too


def _sid(token):
    from flask_jwt_extended import decode_token
    return decode_token(token)["sid"]
