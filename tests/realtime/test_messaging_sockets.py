"""Real clients over real sockets against a live server: messaging, rooms, security, limits."""
import time
from types import SimpleNamespace

import pytest

from kraken.channels import service as channels
from kraken.communities import service as communities
from kraken.memberships import service as memberships
from kraken.messages.models import Message


@pytest.fixture
def world(factory, token_for):
    owner = factory.owner("root")
    alice, bob, carol, dave = (factory.user(n) for n in ("alice", "bob", "carol", "dave"))
    club = communities.create(alice, name="Club", description=None, avatar=None, banner=None)
    other = communities.create(dave, name="Other", description=None, avatar=None, banner=None)
    for user in (bob, carol):
        memberships.join(user.id, club.id)
    general = channels.visible_channels(club.id, _everything())[0]
    private = channels.create(alice, club.id, name="staff", type="TEXT", is_private=True, description=None)
    from kraken.channel_memberships import service as channel_memberships
    channel_memberships.give(private, bob.id)
    other_general = channels.visible_channels(other.id, _everything())[0]
    tokens = {u.username: token_for(u) for u in (owner, alice, bob, carol, dave)}
    return SimpleNamespace(owner=owner, alice=alice, bob=bob, carol=carol, dave=dave, club=club, other=other,
                           general=general, private=private, other_general=other_general, tokens=tokens)


def _everything():
    from kraken.rbac import ALL_ACTIONS, Grant
    return Grant(owner=True, member=True, actions=ALL_ACTIONS)


def text(value, channel_id, **extra):
    return {"channelId": str(channel_id), "spans": [{"type": "PLAINTEXT", "text": value}], "attachments": [],
            "reactions": [], **extra}


def test_connect_without_or_with_a_bad_token_is_refused(live, sockets, world):
    import socketio
    for token in (None, "not-a-jwt", world.tokens["alice"][:-4] + "AAAA"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            sockets(live.url, token)


def test_send_acks_the_stored_id_and_members_receive_it(live, sockets, world):
    alice = sockets(live.url, world.tokens["alice"])
    bob = sockets(live.url, world.tokens["bob"])
    for client in (alice, bob):
        client.emit("joinAll", str(world.club.id))
    time.sleep(0.3)
    ack = alice.call("sendMessage", text("hello squid", world.general.id))
    assert isinstance(ack, str) and len(ack) == 24
    stored = Message.objects(id=ack).first()
    assert stored is not None and stored.spans[0]["text"] == "hello squid"
    got = bob.wait_for("newMessage", lambda p: p["message"]["id"] == ack)
    assert got is not None
    message = got["message"]
    assert message["authorId"] == str(world.alice.id) and message["channelId"] == str(world.general.id)
    assert message["spans"][0] == {"type": "PLAINTEXT", "text": "hello squid", "userId": None, "specialKind": None,
                                   "channelId": None, "communityId": None, "aliasId": None}
    assert message["sentAt"].endswith("Z") and message["editedAt"] is None
    assert alice.wait_for("newMessage", lambda p: p["message"]["id"] == ack)  # the sender too


def test_rooms_are_only_joined_where_the_user_may_read(live, sockets, world):
    bob = sockets(live.url, world.tokens["bob"])
    carol = sockets(live.url, world.tokens["carol"])
    dave = sockets(live.url, world.tokens["dave"])
    dave.emit("joinRoom", str(world.general.id))
    assert dave.wait_for("exception")["code"] == "NOT_A_MEMBER"
    dave.emit("joinAll", str(world.club.id))
    assert len(dave.received("exception")) >= 1 and dave.wait_for("exception", lambda e: e["cause"]["pattern"] == "joinAll")
    carol.emit("joinRoom", str(world.private.id))
    assert carol.wait_for("exception")["code"] == "NOT_FOUND"
    carol.emit("joinAll", str(world.club.id))
    bob.emit("joinAll", str(world.club.id))
    time.sleep(0.3)
    bob.call("sendMessage", text("staff only", world.private.id))
    bob.call("sendMessage", text("everyone", world.general.id))
    assert carol.wait_for("newMessage", lambda p: p["message"]["spans"][0]["text"] == "everyone")
    assert not carol.received("newMessage", lambda p: p["message"]["spans"][0]["text"] == "staff only")
    assert not dave.received("newMessage")
    # and an outsider cannot post into the community
    dave.emit("sendMessage", text("intrusion", world.general.id))
    assert dave.wait_for("exception", lambda e: e["cause"]["pattern"] == "sendMessage")["code"] == "NOT_A_MEMBER"
    assert Message.objects(channel_id=world.general.id).count() == 1


def test_leave_room_stops_delivery(live, sockets, world):
    alice = sockets(live.url, world.tokens["alice"])
    bob = sockets(live.url, world.tokens["bob"])
    bob.emit("joinRoom", str(world.general.id))
    time.sleep(0.2)
    bob.emit("leaveRoom", str(world.general.id))
    time.sleep(0.2)
    alice.call("sendMessage", text("gone", world.general.id))
    time.sleep(0.5)
    assert not bob.received("newMessage")


def test_a_removed_member_stops_receiving_within_a_second(live, sockets, world):
    alice = sockets(live.url, world.tokens["alice"])
    carol = sockets(live.url, world.tokens["carol"])
    carol.emit("joinAll", str(world.club.id))
    time.sleep(0.3)
    alice.call("sendMessage", text("before", world.general.id))
    assert carol.wait_for("newMessage")
    memberships.remove(world.club.id, world.carol.id)  # publishes the room changes through Redis
    time.sleep(1.0)
    alice.call("sendMessage", text("after", world.general.id))
    time.sleep(0.7)
    assert not carol.received("newMessage", lambda p: p["message"]["spans"][0]["text"] == "after")
    carol.emit("sendMessage", text("still here?", world.general.id))
    assert carol.wait_for("exception", lambda e: e["cause"]["pattern"] == "sendMessage")


def test_private_channel_removal_stops_delivery(live, sockets, world):
    from kraken.channel_memberships import service as channel_memberships
    alice = sockets(live.url, world.tokens["alice"])
    bob = sockets(live.url, world.tokens["bob"])
    bob.emit("joinAll", str(world.club.id))
    time.sleep(0.3)
    alice.call("sendMessage", text("secret 1", world.private.id))
    assert bob.wait_for("newMessage")
    channel_memberships.remove(world.private, str(world.bob.id))
    time.sleep(1.0)
    alice.call("sendMessage", text("secret 2", world.private.id))
    time.sleep(0.7)
    assert not bob.received("newMessage", lambda p: p["message"]["spans"][0]["text"] == "secret 2")


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
def test_invalid_or_operator_payloads_are_rejected_and_nothing_is_stored(live, sockets, world, payload):
    alice = sockets(live.url, world.tokens["alice"])
    if isinstance(payload, dict) and payload.get("channelId") == "CHANNEL":
        payload = {**payload, "channelId": str(world.general.id)}
    alice.emit("sendMessage", payload)
    error = alice.wait_for("exception")
    assert error is not None and error["status"] == "error" and error["cause"] == {"pattern": "sendMessage"}
    assert error["code"] in ("VALIDATION_FAILED", "INVALID_OBJECT_ID")
    assert Message.objects.count() == 0


def test_mentions_must_point_inside_the_community(live, sockets, world):
    alice = sockets(live.url, world.tokens["alice"])
    ok = alice.call("sendMessage", {"channelId": str(world.general.id), "spans": [
        {"type": "USER_MENTION", "userId": str(world.bob.id), "text": "@bob"},
        {"type": "SPECIAL_MENTION", "specialKind": "here"},
        {"type": "CHANNEL_MENTION", "channelId": str(world.general.id)}]})
    assert len(ok) == 24
    alice.emit("sendMessage", {"channelId": str(world.general.id),
                               "spans": [{"type": "USER_MENTION", "userId": str(world.dave.id)}]})
    assert alice.wait_for("exception")["code"] == "VALIDATION_FAILED"
    alice.emit("sendMessage", {"channelId": str(world.general.id),
                               "spans": [{"type": "CHANNEL_MENTION", "channelId": str(world.other_general.id)}]})
    assert len(alice.received("exception")) == 2 or alice.wait_for("exception", lambda e: len(alice.received("exception")) == 2)
    assert Message.objects.count() == 1


def test_oversize_payload_gets_an_exception_and_nothing_is_stored(live, sockets, world):
    alice = sockets(live.url, world.tokens["alice"])
    alice.emit("sendMessage", text("x" * 70_000, world.general.id))
    error = alice.wait_for("exception")
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert alice.connected
    assert Message.objects.count() == 0


def test_a_flood_is_cut_off_with_an_exception(live, sockets, world):
    alice = sockets(live.url, world.tokens["alice"])
    for i in range(30):
        alice.emit("sendMessage", text(f"flood {i}", world.general.id))
    assert alice.wait_for("exception", lambda e: e["code"] == "TOO_MANY_REQUESTS")
    time.sleep(0.5)
    stored = Message.objects.count()
    assert 1 <= stored <= 10
    rejected = len(alice.received("exception", lambda e: e["code"] == "TOO_MANY_REQUESTS"))
    assert stored + rejected == 30


def test_nonce_makes_a_send_idempotent(live, sockets, world):
    alice = sockets(live.url, world.tokens["alice"])
    first = alice.call("sendMessage", text("once", world.general.id, nonce="n-123"))
    second = alice.call("sendMessage", text("once", world.general.id, nonce="n-123"))
    assert first == second
    assert Message.objects.count() == 1
    assert Message.objects.first().nonce == "n-123"


def test_presence_online_acks(live, sockets, world):
    alice = sockets(live.url, world.tokens["alice"])
    assert alice.call("presenceOnline", {}) == "ACK"


def test_typing_reaches_others_in_the_room_but_not_the_sender(live, sockets, world):
    alice = sockets(live.url, world.tokens["alice"])
    bob = sockets(live.url, world.tokens["bob"])
    for client in (alice, bob):
        client.emit("joinAll", str(world.club.id))
    time.sleep(0.3)
    alice.emit("typingStart", {"channelId": str(world.general.id)})
    got = bob.wait_for("userTyping")
    assert got == {"userId": str(world.alice.id), "channelId": str(world.general.id), "isTyping": True}
    alice.emit("typingStop", {"channelId": str(world.general.id)})
    assert bob.wait_for("userTyping", lambda p: p["isTyping"] is False)
    time.sleep(0.2)
    assert not alice.received("userTyping")
    alice.emit("typingStart", {"channelId": str(world.other_general.id)})  # not in that room
    assert alice.wait_for("exception")["cause"]["pattern"] == "typingStart"


def test_logout_and_disable_close_live_sockets(live, sockets, world, app):
    from kraken.auth.service import start_session
    from kraken.users import service as users
    session = start_session(world.bob)
    bob = sockets(live.url, session.access_token)
    other_session = sockets(live.url, world.tokens["bob"])
    client = app.test_client()
    client.set_cookie("refresh_token", session.refresh_token)
    assert client.post("/api/auth/logout").status_code == 201
    deadline = time.time() + 2
    while bob.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not bob.connected
    assert other_session.connected  # another device's session is untouched
    users.set_disabled(str(world.bob.id), True)
    deadline = time.time() + 2
    while other_session.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not other_session.connected


def test_an_expired_token_gets_an_exception_then_a_disconnect(live, sockets, world):
    from datetime import timedelta
    from flask_jwt_extended import create_access_token
    token = create_access_token(identity=str(world.alice.id), expires_delta=timedelta(seconds=2),
                                additional_claims={"username": "alice", "role": "USER", "sid": None})
    alice = sockets(live.url, token)
    time.sleep(2.5)
    alice.emit("sendMessage", text("too late", world.general.id))
    error = alice.wait_for("exception")
    assert error["code"] == "UNAUTHORIZED"
    deadline = time.time() + 2
    while alice.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not alice.connected and Message.objects.count() == 0


def test_password_change_closes_the_other_sessions_sockets_within_a_second(live, sockets, world, app):
    from kraken.auth.service import change_password, start_session
    kept = start_session(world.bob)
    here = sockets(live.url, kept.access_token)
    elsewhere = sockets(live.url, world.tokens["bob"])
    change_password(world.bob, "correct horse battery", "a brand new password", keep_session=_sid(kept.access_token))
    deadline = time.time() + 1.0
    while elsewhere.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not elsewhere.connected
    assert here.connected and here.call("presenceOnline", {}) == "ACK"
    import socketio
    with pytest.raises(socketio.exceptions.ConnectionError):
        sockets(live.url, world.tokens["bob"])  # the old session's token is refused too


def _sid(token):
    from flask_jwt_extended import decode_token
    return decode_token(token)["sid"]
