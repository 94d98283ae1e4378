"""Rooms follow memberships on the server (kraken-later-endpoints §11): sockets that only emitted
`subscribeAll` are moved into and out of rooms, on every process, when a community is created,
joined or left, a member removed, a private channel's member added or removed, a channel created,
made private or deleted. REST goes through the test process, whose queue has no sockets of its
own: every move below reached the live processes through Redis."""
import time
import uuid

import pytest

from kraken.channels.models import Channel
from kraken.realtime import names
from kraken.realtime.publish import publish
from kraken.realtime.rooms import channel_room, community_room
from tests.factories import ApiClient
from tests.realtime.test_messaging_sockets import text


@pytest.fixture
def people(app, factory, token_for):
    """root (owner), alice (creates communities), bob and carol (plain users); their tokens and REST clients."""
    root = factory.owner("root")
    alice, bob, carol = (factory.user(n) for n in ("alice", "bob", "carol"))
    users = {"root": root, "alice": alice, "bob": bob, "carol": carol}
    tokens = {name: token_for(user) for name, user in users.items()}
    rest = {name: ApiClient(app.test_client(), token) for name, token in tokens.items()}
    return users, tokens, rest


def connect(sockets, url, token):
    """A socket that behaves like the current client: `subscribeAll` once, nothing else."""
    client = sockets(url, token)
    client.emit("subscribeAll")
    return client


def hears(client, room, timeout: float = 5) -> bool:
    """Publish probes to `room` (through Redis, like every event) until `client` hears one."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        publish("probe", {"token": token}, room)
        if client.wait_for("probe", lambda p: p["token"] == token, timeout=0.2):
            return True
    return False


def deaf(client, room, within: float = 1.0) -> bool:
    """True when a probe published to `room` now does not reach `client` within `within` seconds."""
    token = uuid.uuid4().hex
    publish("probe", {"token": token}, room)
    return client.wait_for("probe", lambda p: p["token"] == token, timeout=within) is None


def said(value):
    return lambda p: p["message"]["spans"][0]["text"] == value


def general_of(community_id):
    return Channel.objects(community_id=community_id, type="TEXT", name="general").get()


def test_creating_a_community_moves_the_creators_sockets_on_every_process(live, live_b, sockets, people):
    users, tokens, rest = people
    here, there = connect(sockets, live.url, tokens["alice"]), connect(sockets, live_b.url, tokens["alice"])
    created = rest["alice"].post("/api/community", json={"name": "Fresh"})
    assert created.status_code == 201
    general = general_of(created.get_json()["id"])
    message_id = here.call("sendMessage", text("hello me", general.id))
    assert here.wait_for("newMessage", lambda p: p["message"]["id"] == message_id)
    assert there.wait_for("newMessage", lambda p: p["message"]["id"] == message_id)
    there.emit("typingStart", {"channelId": str(general.id)})  # typing needs the room: no exception
    assert here.wait_for("userTyping", lambda p: p["userId"] == str(users["alice"].id))
    assert not here.received("exception") and not there.received("exception")
    assert not here.received(names.MEMBER_ADDED_TO_COMMUNITY)  # not sent to the creator (§7)


@pytest.mark.parametrize("how", ["membership", "invite"])
def test_a_member_added_over_rest_is_told_and_hears_the_next_message_on_another_process(
        live, live_b, sockets, people, factory, how):
    users, tokens, rest = people
    club = factory.community(users["alice"], "Club")
    general = general_of(club.id)
    alice = connect(sockets, live.url, tokens["alice"])
    bob = connect(sockets, live_b.url, tokens["bob"])
    assert hears(alice, channel_room(general.id))
    if how == "membership":
        response = rest["alice"].post("/api/membership", json={"userId": str(users["bob"].id),
                                                               "communityId": str(club.id)})
        assert response.status_code == 201
    else:
        code = rest["alice"].post(f"/api/community/{club.id}/invites", json={"maxUses": 1}).get_json()["code"]
        assert rest["bob"].post(f"/api/invite/{code}/redeem").status_code == 200
    added = bob.wait_for(names.MEMBER_ADDED_TO_COMMUNITY)
    assert added == {"communityId": str(club.id), "userId": str(users["bob"].id)}
    message_id = alice.call("sendMessage", text("welcome", general.id))
    assert bob.wait_for("newMessage", lambda p: p["message"]["id"] == message_id)
    bob.emit("typingStart", {"channelId": str(general.id)})
    assert alice.wait_for("userTyping", lambda p: p["userId"] == str(users["bob"].id))
    assert not alice.received(names.MEMBER_ADDED_TO_COMMUNITY)  # the joiner's user room only


@pytest.mark.parametrize("how", ["removed", "left"])
def test_a_member_who_leaves_or_is_removed_stops_receiving_within_a_second(live, live_b, sockets, people, factory, how):
    users, tokens, rest = people
    club = factory.community(users["alice"], "Club")
    general = general_of(club.id)
    for name in ("bob", "carol"):
        rest["alice"].post("/api/membership", json={"userId": str(users[name].id), "communityId": str(club.id)})
    alice = connect(sockets, live.url, tokens["alice"])
    bob = connect(sockets, live_b.url, tokens["bob"])
    carol = connect(sockets, live_b.url, tokens["carol"])
    assert hears(bob, channel_room(general.id)) and hears(carol, channel_room(general.id))
    if how == "removed":
        assert rest["alice"].delete(f"/api/membership/community/{club.id}/user/{users['bob'].id}").status_code == 204
    else:
        assert rest["bob"].delete(f"/api/membership/leave/{club.id}").status_code == 204
    removed_at = time.monotonic()
    message_id = alice.call("sendMessage", text("members only", general.id))
    assert carol.wait_for("newMessage", lambda p: p["message"]["id"] == message_id)  # still a member: hears it
    assert deaf(bob, community_room(club.id)) and deaf(bob, channel_room(general.id), within=0.1)
    assert not bob.received("newMessage", lambda p: p["message"]["id"] == message_id)
    assert time.monotonic() - removed_at >= 1.0  # a full second of silence after the removal returned
    bob.emit("typingStart", {"channelId": str(general.id)})
    assert bob.wait_for("exception")["message"] == "Channel not found"


def test_private_channel_members_added_and_removed_move_their_sockets(live, live_b, sockets, people, factory):
    users, tokens, rest = people
    club = factory.community(users["alice"], "Club")
    rest["alice"].post("/api/membership", json={"userId": str(users["bob"].id), "communityId": str(club.id)})
    alice = connect(sockets, live.url, tokens["alice"])
    bob = connect(sockets, live_b.url, tokens["bob"])
    created = rest["alice"].post("/api/channels", json={"name": "staff", "communityId": str(club.id),
                                                        "type": "TEXT", "isPrivate": True})
    assert created.status_code == 201
    staff = created.get_json()["id"]
    # the creator's sockets joined it (and only the room heard of it); bob, not a member, did not
    assert alice.wait_for(names.CHANNEL_CREATED, lambda p: p["channel"]["id"] == staff)
    assert hears(alice, channel_room(staff)) and deaf(bob, channel_room(staff))
    assert not bob.received(names.CHANNEL_CREATED)

    added = rest["alice"].post("/api/channel-membership", json={"userId": str(users["bob"].id), "channelId": staff})
    assert added.status_code == 201
    message_id = alice.call("sendMessage", text("staff meeting", staff))
    assert bob.wait_for("newMessage", lambda p: p["message"]["id"] == message_id)

    removed = rest["alice"].delete(f"/api/channel-membership/channel/{staff}/user/{users['bob'].id}")
    assert removed.status_code == 204
    later = alice.call("sendMessage", text("after bob", staff))
    assert alice.wait_for("newMessage", lambda p: p["message"]["id"] == later)
    assert deaf(bob, channel_room(staff))
    assert not bob.received("newMessage", lambda p: p["message"]["id"] == later)


def test_channels_created_made_private_and_deleted_move_the_communitys_sockets(live, live_b, sockets, people, factory):
    users, tokens, rest = people
    club = factory.community(users["alice"], "Club")
    rest["alice"].post("/api/membership", json={"userId": str(users["bob"].id), "communityId": str(club.id)})
    alice = connect(sockets, live.url, tokens["alice"])
    bob = connect(sockets, live_b.url, tokens["bob"])
    assert hears(bob, community_room(club.id))

    created = rest["alice"].post("/api/channels", json={"name": "random", "communityId": str(club.id), "type": "TEXT"})
    random = created.get_json()
    announced = bob.wait_for(names.CHANNEL_CREATED, lambda p: p["channel"]["id"] == random["id"])
    assert announced == {"communityId": str(club.id), "channel": random}
    message_id = alice.call("sendMessage", text("new room", random["id"]))
    assert bob.wait_for("newMessage", lambda p: p["message"]["id"] == message_id)

    # made private: only its channel members (none: it was public) and member owners may enter it,
    # so every socket leaves its room, the admin's too
    patched = rest["alice"].patch(f"/api/channels/{random['id']}", json={"isPrivate": True})
    assert patched.status_code == 200
    assert deaf(bob, channel_room(random["id"])) and deaf(alice, channel_room(random["id"]), within=0.1)
    assert not bob.received(names.CHANNEL_UPDATED)  # a private channel's news stay in its room
    rest["alice"].patch(f"/api/channels/{random['id']}", json={"isPrivate": False})
    updated = bob.wait_for(names.CHANNEL_UPDATED, lambda p: p["channel"]["isPrivate"] is False)
    assert updated["communityId"] == str(club.id) and updated["channel"]["id"] == random["id"]
    assert hears(bob, channel_room(random["id"]))

    assert rest["alice"].delete(f"/api/channels/{random['id']}").status_code == 204
    gone = bob.wait_for(names.CHANNEL_DELETED, lambda p: p["channelId"] == random["id"])
    assert gone == {"communityId": str(club.id), "channelId": random["id"]}
    assert deaf(bob, channel_room(random["id"])) and deaf(alice, channel_room(random["id"]), within=0.1)
    assert hears(bob, community_room(club.id))  # the community's own room is untouched


def test_a_deleted_community_empties_its_rooms(live, live_b, sockets, people, factory):
    users, tokens, rest = people
    club = factory.community(users["alice"], "Club")
    general = general_of(club.id)
    rest["alice"].post("/api/membership", json={"userId": str(users["bob"].id), "communityId": str(club.id)})
    bob = connect(sockets, live_b.url, tokens["bob"])
    assert hears(bob, channel_room(general.id))
    assert rest["alice"].delete(f"/api/community/{club.id}").status_code == 204
    assert bob.wait_for(names.COMMUNITY_DELETED) == {"communityId": str(club.id)}
    assert deaf(bob, community_room(club.id)) and deaf(bob, channel_room(general.id), within=0.1)


def test_the_a169fe1_client_still_joins_with_join_all_and_join_room(live, sockets, people, factory):
    users, tokens, rest = people
    club = factory.community(users["alice"], "Club")
    general = general_of(club.id)
    rest["alice"].post("/api/membership", json={"userId": str(users["bob"].id), "communityId": str(club.id)})
    bob = sockets(live.url, tokens["bob"])  # the old client: no subscribeAll
    bob.emit("joinAll", str(club.id))
    assert hears(bob, channel_room(general.id)) and hears(bob, community_room(club.id))
    bob.emit("leaveRoom", str(general.id))
    time.sleep(0.3)
    assert deaf(bob, channel_room(general.id))
    bob.emit("joinRoom", str(general.id))
    assert hears(bob, channel_room(general.id))
