"""DM calls (issue 20 item 2, KLE §7, docs/decisions/0048-dm-calls.md): `POST /api/livekit/dm-token`, the
group's call presence (list, refresh, leave), and dmVoiceCallStarted / dmVoiceUserJoined / dmVoiceUserLeft to
`dm:<groupId>`, driven by a real livekit-server's webhook. Club's `dm_group` ({DMG}) is admin, member and
pcmember's; its `dm` ({DM}) member and pcmember's."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from google.protobuf.json_format import MessageToJson
from livekit import api

from kraken.extensions import redis
from kraken.realtime.publish import publish
from kraken.realtime.rooms import dm_room
from kraken.voice import service, store
from tests.factories import dump
from tests.live import wait_for
from tests.voice.livekit_helpers import (DEV_SECRET, DEV_WS, Participant, PrivateLiveKit, create_room, rtc_validate,
                                         sign_webhook)
from tests.voice.test_webhook import WEBHOOK, deliver, event_body

EVENTS = ("dmVoiceCallStarted", "dmVoiceUserJoined", "dmVoiceUserLeft")
UNKNOWN = "0123456789abcdef01234567"


def dm_keys() -> dict[str, object]:
    """Every DM-call key in Redis with its value (what a refused request must leave as it was)."""
    out = {}
    for key in sorted(redis.client.keys("kraken:dmvoice:*")):
        kind = redis.client.type(key)
        out[key] = (redis.client.hgetall(key) if kind == "hash" else sorted(redis.client.smembers(key))
                    if kind == "set" else redis.client.get(key))
    return out


def in_call(group) -> list[str]:
    return sorted(redis.hkeys(f"kraken:dmvoice:dm:{group.id}"))


def starter(user) -> dict:
    """`dmVoiceCallStarted`'s `starter`: the four public fields, nulls included (KLE §7.4)."""
    user.reload()
    return {"id": str(user.id), "username": user.username, "displayName": user.display_name,
            "avatarUrl": user.avatar_url}


def path(group, tail: str = "") -> str:
    return f"/api/dm-groups/{getattr(group, 'id', group)}/voice-presence{tail}"


@pytest.fixture
def in_dms(live, sockets, voice_community):
    """in_dms("admin", "outsider") -> their sockets after `subscribeAll` (the current client's), each
    member's having joined `dm:<DMG>` (probed until heard)."""
    def _open(*names: str, url: str | None = None):
        clients = [sockets(url or live.url, voice_community.tokens[name]) for name in names]
        for client in clients:
            client.emit("subscribeAll")
        members = [c for name, c in zip(names, clients) if name in ("admin", "member", "pcmember")]
        deadline = time.monotonic() + 10
        while members and time.monotonic() < deadline:
            publish("roomProbe", {}, dm_room(voice_community.dm_group.id))
            time.sleep(0.1)
            members = [c for c in members if not c.received("roomProbe")]
        assert not members, "subscribeAll did not join dm:<DMG>"
        time.sleep(0.2)
        return clients
    return _open


# --- the token ---------------------------------------------------------------------------------

def test_a_dm_token_is_the_members_own_for_the_groups_room_and_livekit_takes_it(voice_community, api_as):
    w = voice_community
    response = api_as("pcmember").post("/api/livekit/dm-token",
                                       json={"roomId": str(w.dm_group.id), "identity": str(w.admin.id), "ttl": 600})
    assert response.status_code == 201, response.get_json()
    out = response.get_json()
    assert set(out) == {"token", "identity", "roomId", "url", "expiresAt"}   # the channel token's shape
    assert out["identity"] == str(w.pcmember.id) and out["roomId"] == str(w.dm_group.id) and out["url"] == DEV_WS
    claims = jwt.decode(out["token"], DEV_SECRET, algorithms=["HS256"], issuer="devkey")
    assert claims["sub"] == str(w.pcmember.id) and 590 <= claims["exp"] - int(time.time()) <= 600
    assert claims["video"] == {"roomJoin": True, "room": str(w.dm_group.id), "canPublish": True,
                               "canSubscribe": True, "canPublishData": True, "canUpdateOwnMetadata": True,
                               "roomCreate": False, "roomList": False, "roomAdmin": False, "roomRecord": False}
    assert rtc_validate(out["token"]) == 200   # the dev LiveKit server accepts it
    # the 1:1 conversation too, for its two members
    assert api_as("member").post("/api/livekit/dm-token", json={"roomId": str(w.dm.id)}).status_code == 201


@pytest.mark.parametrize("principal, room, body, expected", [
    ("owner", "dm_group", None, 404),      # the instance owner is no member (0047)
    ("outsider", "dm_group", None, 404),
    ("nopc", "dm_group", None, 404),
    ("admin", "dm", None, 404),            # a member of the other conversation only
    (None, "dm_group", None, 401),
    ("member", "unknown", None, 404),
    ("member", "voice", None, 404),        # a voice channel is no direct-message group
    ("member", None, {}, 400),
    ("member", None, {"roomId": "zz"}, 400),
    ("member", None, {"roomId": 12}, 400),
    ("member", "dm_group", {"ttl": 0}, 400),
    ("member", "dm_group", {"ttl": "60"}, 400),
    ("member", "dm_group", {"name": 5}, 400),
])
def test_dm_token_refusals(voice_community, api_as, principal, room, body, expected):
    w = voice_community
    payload = dict(body or {})
    if room is not None:
        payload["roomId"] = UNKNOWN if room == "unknown" else str(getattr(w, room).id)
    response = api_as(principal).post("/api/livekit/dm-token", json=payload)
    assert response.status_code == expected, response.get_json()
    assert "token" not in response.get_json() and response.get_json()["statusCode"] == expected


def test_the_channel_token_route_refuses_a_dm_group(voice_community, api_as):
    w = voice_community
    response = api_as("member").post("/api/livekit/token", json={"roomId": str(w.dm_group.id)})
    assert response.status_code == 404


# --- presence over REST ------------------------------------------------------------------------

def test_refresh_registers_a_member_lists_them_and_announces_the_call(live, voice_community, api_as, in_dms):
    w = voice_community
    admin, outsider = in_dms("admin", "outsider")
    empty = api_as("member").get(path(w.dm_group))
    assert empty.status_code == 200 and empty.get_json() == {"dmGroupId": str(w.dm_group.id), "users": [], "count": 0}

    # the first heartbeat of someone not yet present registers them: they start the call
    response = api_as("member").post(path(w.dm_group, "/refresh"))
    assert response.status_code == 201
    assert response.get_json() == {"success": True, "message": "DM presence refreshed successfully",
                                   "dmGroupId": str(w.dm_group.id)}
    started = admin.wait_for("dmVoiceCallStarted")
    assert started == {"dmGroupId": str(w.dm_group.id), "startedBy": str(w.member.id), "starter": starter(w.member)}
    time.sleep(0.005)
    assert api_as("pcmember").post(path(w.dm_group, "/refresh")).status_code == 201
    joined = admin.wait_for("dmVoiceUserJoined")
    assert joined["dmGroupId"] == str(w.dm_group.id) and joined["user"]["id"] == str(w.pcmember.id)
    assert joined["user"]["username"] == "pcmember" and joined["user"]["isDeafened"] is False

    # a heartbeat of someone present only extends their entry: no second event
    assert api_as("member").post(path(w.dm_group, "/refresh")).status_code == 201
    listed = api_as("admin").get(path(w.dm_group)).get_json()
    assert [u["id"] for u in listed["users"]] == [str(w.member.id), str(w.pcmember.id)] and listed["count"] == 2
    assert listed["users"][1] == joined["user"]
    time.sleep(0.3)
    assert len(admin.received("dmVoiceCallStarted")) == 1 and len(admin.received("dmVoiceUserJoined")) == 1
    assert not any(outsider.received(e) for e in EVENTS)   # not a member: hears nothing
    # the 1:1 conversation's call is another call
    assert api_as("member").get(path(w.dm)).get_json()["count"] == 0


def test_members_joining_at_once_start_one_call(live, voice_community, in_dms):
    """Who opens the call is decided inside the join script: of simultaneous joins one starts it."""
    w = voice_community
    (observer,) = in_dms("admin")
    names = ("admin", "member", "pcmember")
    barrier = threading.Barrier(len(names))

    def refresh(name: str) -> int:
        barrier.wait()
        return requests.post(live.url + path(w.dm_group, "/refresh"), timeout=10,
                             headers={"Authorization": f"Bearer {w.tokens[name]}"}).status_code

    with ThreadPoolExecutor(len(names)) as pool:
        assert list(pool.map(refresh, names)) == [201] * 3
    assert observer.wait_for("dmVoiceUserJoined", lambda _: len(observer.received("dmVoiceUserJoined")) == 2)
    time.sleep(0.3)
    started, joined = observer.received("dmVoiceCallStarted"), observer.received("dmVoiceUserJoined")
    assert len(started) == 1 and len(joined) == 2
    assert {started[0]["startedBy"], *(e["user"]["id"] for e in joined)} == {str(getattr(w, n).id) for n in names}


def test_leave_by_post_or_delete_announces_once(live, voice_community, api_as, in_dms):
    w = voice_community
    (admin,) = in_dms("admin")
    for name in ("member", "pcmember"):
        api_as(name).post(path(w.dm_group, "/refresh"))
    response = api_as("pcmember").post(path(w.dm_group, "/leave"))
    assert response.status_code == 201
    assert response.get_json() == {"success": True, "message": "Voice presence removed",
                                   "dmGroupId": str(w.dm_group.id)}
    left = admin.wait_for("dmVoiceUserLeft")
    assert left["dmGroupId"] == str(w.dm_group.id) and left["userId"] == str(w.pcmember.id)
    assert left["user"]["username"] == "pcmember"
    # the current client's unload request: DELETE, with a JSON content type and no body
    response = api_as("member").delete(path(w.dm_group, "/leave"), headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.get_json()["dmGroupId"] == str(w.dm_group.id)
    assert admin.wait_for("dmVoiceUserLeft", lambda e: e["userId"] == str(w.member.id))
    assert in_call(w.dm_group) == []
    # leaving again succeeds and says nothing
    assert api_as("member").post(path(w.dm_group, "/leave")).status_code == 201
    time.sleep(0.3)
    assert len(admin.received("dmVoiceUserLeft")) == 2


@pytest.mark.parametrize("method, tail", [("GET", ""), ("POST", "/refresh"), ("POST", "/leave"),
                                          ("DELETE", "/leave")])
@pytest.mark.parametrize("principal, room, expected", [
    ("owner", "dm_group", 404), ("outsider", "dm_group", 404), ("nopc", "dm_group", 404), ("admin", "dm", 404),
    (None, "dm_group", 401), ("member", "unknown", 404), ("member", "voice", 404),
])
def test_non_members_are_refused_and_change_nothing(live, voice_community, api_as, in_dms, method, tail, principal,
                                                    room, expected):
    """Not even who is in the call leaks to a non-member (the reference lists it to anyone, 0048)."""
    w = voice_community
    (admin,) = in_dms("admin")
    api_as("member").post(path(w.dm_group, "/refresh"))      # a call is on: member is in it
    api_as("member").post(path(w.dm, "/refresh"))
    assert admin.wait_for("dmVoiceCallStarted")
    # the voice sweeper of the live server would announce the stale entry below on its own (it failed
    # CI once so): hold its lock for the test, so that only the refused request could announce it
    sweep_lock = f"{store.SWEEP_LOCK}:{service.TTL}"
    redis.set(sweep_lock, "held by the test", ex=30)
    try:
        redis.delete(f"kraken:dmvoice:alive:{w.dm_group.id}:{w.member.id}")  # and stale: a list would announce it
        db, keys = dump(), dm_keys()
        group = UNKNOWN if room == "unknown" else getattr(w, room).id
        response = api_as(principal).open(method, path(group, tail))
        assert response.status_code == expected, response.get_json()
        assert response.get_json()["statusCode"] == expected
        assert "users" not in response.get_json()
        assert dump() == db and dm_keys() == keys, "a refused request changed something"
        time.sleep(0.3)
        assert not admin.received("dmVoiceUserLeft") and not admin.received("dmVoiceUserJoined")
    finally:
        redis.delete(sweep_lock)


def test_malformed_group_ids_are_400(voice_community, api_as):
    for method, tail in (("GET", ""), ("POST", "/refresh"), ("POST", "/leave"), ("DELETE", "/leave")):
        response = api_as("member").open(method, f"/api/dm-groups/zz/voice-presence{tail}")
        assert response.status_code == 400 and response.get_json()["statusCode"] == 400
    assert dm_keys() == {}


def test_an_expired_entry_is_announced_as_left(live, voice_community, api_as, in_dms):
    """The reference lets a DM entry expire silently; here the reader (or the sweeper) announces it."""
    w = voice_community
    (admin,) = in_dms("admin")
    for name in ("member", "pcmember"):
        api_as(name).post(path(w.dm_group, "/refresh"))
    redis.delete(f"kraken:dmvoice:alive:{w.dm_group.id}:{w.pcmember.id}")   # its TTL ran out
    listed = api_as("admin").get(path(w.dm_group)).get_json()
    assert [u["id"] for u in listed["users"]] == [str(w.member.id)]
    assert admin.wait_for("dmVoiceUserLeft")["userId"] == str(w.pcmember.id)
    # a call whose every entry expired is over: the next one in starts a new call
    redis.delete(f"kraken:dmvoice:alive:{w.dm_group.id}:{w.member.id}")
    api_as("pcmember").post(path(w.dm_group, "/refresh"))
    assert admin.wait_for("dmVoiceUserLeft", lambda e: e["userId"] == str(w.member.id))
    assert admin.wait_for("dmVoiceCallStarted", lambda e: e["startedBy"] == str(w.pcmember.id))
    assert in_call(w.dm_group) == [str(w.pcmember.id)]


def test_the_sweeper_announces_expired_call_entries(app, live, voice_community, api_as, in_dms):
    """Nobody reads the list: the voice sweeper (which now sweeps DM calls too) announces the expiry."""
    w = voice_community
    (admin,) = in_dms("admin")
    for name in ("member", "pcmember"):
        api_as(name).post(path(w.dm_group, "/refresh"))
    redis.delete(f"kraken:dmvoice:alive:{w.dm_group.id}:{w.pcmember.id}")
    redis.delete(f"{store.SWEEP_LOCK}:{service.TTL}")   # whichever process sweeps next, this one may
    with app.app_context():
        service.sweep()
    assert admin.wait_for("dmVoiceUserLeft", lambda e: e["userId"] == str(w.pcmember.id))
    assert in_call(w.dm_group) == [str(w.member.id)]


def test_leaving_the_group_leaves_its_call(live, voice_community, api_as, in_dms):
    w = voice_community
    (admin,) = in_dms("admin")
    for name in ("member", "pcmember"):
        api_as(name).post(path(w.dm_group, "/refresh"))
    assert api_as("pcmember").delete(f"/api/direct-messages/{w.dm_group.id}/members/me").status_code == 204
    assert admin.wait_for("dmVoiceUserLeft", lambda e: e["userId"] == str(w.pcmember.id))
    assert in_call(w.dm_group) == [str(w.member.id)]
    assert api_as("pcmember").post(path(w.dm_group, "/refresh")).status_code == 404


def test_the_last_socket_closing_ends_the_users_call_presence(live, voice_community, api_as, in_dms, sockets):
    w = voice_community
    (admin,) = in_dms("admin")
    pcmember = sockets(live.url, w.tokens["pcmember"])
    api_as("pcmember").post(path(w.dm_group, "/refresh"))
    assert admin.wait_for("dmVoiceCallStarted")
    pcmember.close()
    assert admin.wait_for("dmVoiceUserLeft", lambda e: e["userId"] == str(w.pcmember.id))
    assert in_call(w.dm_group) == []


# --- LiveKit's webhook ---------------------------------------------------------------------------

def test_signed_webhooks_start_join_leave_and_finish_a_call(live, voice_community, client, in_dms):
    w = voice_community
    admin, outsider = in_dms("admin", "outsider")
    body = event_body("participant_joined", w.dm_group.id, w.member.id)
    assert deliver(client, body).get_json() == {"success": True, "applied": True}
    started = admin.wait_for("dmVoiceCallStarted")
    assert started["startedBy"] == str(w.member.id) and started["starter"]["username"] == "member"
    # the participant's metadata carries the client's deafen state
    message = api.WebhookEvent(event="participant_joined", room=api.Room(name=str(w.dm_group.id)), id="EV_meta")
    message.participant.CopyFrom(api.ParticipantInfo(identity=str(w.pcmember.id), sid="PA_2",
                                                     metadata=json.dumps({"isDeafened": True})))
    assert deliver(client, MessageToJson(message).encode()).get_json()["applied"] is True
    joined = admin.wait_for("dmVoiceUserJoined")
    assert joined["user"]["id"] == str(w.pcmember.id) and joined["user"]["isDeafened"] is True
    # a repeated join changes nothing
    assert deliver(client, event_body("participant_joined", w.dm_group.id, w.member.id)).status_code == 200
    assert deliver(client, event_body("participant_left", w.dm_group.id, w.pcmember.id)).status_code == 200
    assert admin.wait_for("dmVoiceUserLeft")["userId"] == str(w.pcmember.id)
    assert deliver(client, event_body("room_finished", w.dm_group.id)).status_code == 200
    assert admin.wait_for("dmVoiceUserLeft", lambda e: e["userId"] == str(w.member.id))
    assert in_call(w.dm_group) == []
    time.sleep(0.3)
    assert len(admin.received("dmVoiceCallStarted")) == 1 and len(admin.received("dmVoiceUserJoined")) == 1
    assert not any(outsider.received(e) for e in EVENTS)


def test_a_webhook_join_of_a_non_member_is_not_recorded(voice_community, client):
    w = voice_community
    for identity in (w.outsider.id, w.owner.id, w.admin.id):   # admin is no member of the 1:1 conversation
        response = deliver(client, event_body("participant_joined", w.dm.id, identity))
        assert response.get_json() == {"success": True, "applied": True}
    assert in_call(w.dm) == []
    response = deliver(client, event_body("participant_joined", w.dm.id, "egress-bot"))
    assert response.get_json() == {"success": True, "applied": False}


@pytest.fixture
def private_livekit(live, tmp_path):
    """A livekit-server of this test whose webhook posts to the live Kraken server."""
    server = PrivateLiveKit(tmp_path, live.url + WEBHOOK).start()
    yield server
    server.stop()


def test_a_dm_call_through_a_real_livekit_server(live, private_livekit, voice_community, api_as, in_dms):
    """Two members join the group's call with tokens from `POST /api/livekit/dm-token`; the real server's
    webhook makes the first start the call and the second join it, and both leaving is heard."""
    w = voice_community
    admin, outsider = in_dms("admin", "outsider")
    room = str(w.dm_group.id)
    create_room(room, private_livekit.url, empty_timeout=60)
    tokens = {name: api_as(name).post("/api/livekit/dm-token", json={"roomId": room}).get_json()["token"]
              for name in ("member", "pcmember")}
    member, pcmember = Participant(), Participant()
    try:
        member.connect(private_livekit.ws_url, tokens["member"])
        started = admin.wait_for("dmVoiceCallStarted", timeout=15)
        assert started is not None and started["dmGroupId"] == room and started["startedBy"] == str(w.member.id)
        assert started["starter"] == starter(w.member)
        pcmember.connect(private_livekit.ws_url, tokens["pcmember"])
        joined = admin.wait_for("dmVoiceUserJoined", timeout=15)
        assert joined is not None and joined["dmGroupId"] == room and joined["user"]["id"] == str(w.pcmember.id)
        listed = api_as("admin").get(path(room)).get_json()
        assert [u["id"] for u in listed["users"]] == [str(w.member.id), str(w.pcmember.id)]
    finally:
        pcmember.close()
    left = admin.wait_for("dmVoiceUserLeft", lambda e: e["userId"] == str(w.pcmember.id), timeout=15)
    assert left is not None and left["dmGroupId"] == room and left["user"]["username"] == "pcmember"
    member.close()
    assert admin.wait_for("dmVoiceUserLeft", lambda e: e["userId"] == str(w.member.id), timeout=15)
    assert wait_for(lambda: in_call(w.dm_group) == [], 5)
    assert len(admin.received("dmVoiceCallStarted")) == 1
    assert not any(outsider.received(e) for e in EVENTS)
