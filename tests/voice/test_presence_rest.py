"""Voice presence over REST: storage, shapes, events to the channel room, and who may do what."""
from __future__ import annotations

import time

import pytest

from kraken.extensions import redis
from kraken.users import service as users
from kraken.users.models import User


def presence(api, channel) -> dict:
    response = api.get(f"/api/channels/{channel.id}/voice-presence")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_join_lists_the_user_and_tells_the_channel_room(live, voice_world, api_as, in_rooms):
    w = voice_world
    User.objects(id=w.bob.id).update_one(set__display_name="Bobby", unset__avatar_url=True)
    users.changed(w.bob.id)  # as every write path of a user does
    carol, dave = in_rooms("carol", "dave")
    bob = api_as("bob")

    response = bob.post(f"/api/channels/{w.voice.id}/voice-presence/join", headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.get_json() == {"success": True, "message": "Successfully joined voice channel",
                                   "channelId": str(w.voice.id)}
    event = carol.wait_for("voiceChannelUserJoined")
    assert event["channelId"] == str(w.voice.id)
    user = event["user"]
    assert user["id"] == str(w.bob.id) and user["username"] == "bob" and user["displayName"] == "Bobby"
    assert "avatarUrl" not in user  # omitted when null (contract §3.12)
    assert user["joinedAt"].endswith("Z")
    assert {k: user[k] for k in ("isVideoEnabled", "isScreenSharing", "isMuted", "isDeafened")} == dict.fromkeys(
        ("isVideoEnabled", "isScreenSharing", "isMuted", "isDeafened"), False)
    assert not dave.received("voiceChannelUserJoined")  # an outsider hears nothing

    listed = presence(api_as("carol"), w.voice)
    assert listed == {"channelId": str(w.voice.id), "users": [user], "count": 1}

    # joining again only refreshes: no second event, joinedAt kept
    assert bob.post(f"/api/channels/{w.voice.id}/voice-presence/join").status_code == 201
    time.sleep(0.4)
    assert len(carol.received("voiceChannelUserJoined")) == 1
    assert presence(bob, w.voice)["users"][0]["joinedAt"] == user["joinedAt"]


def test_users_are_listed_by_join_time_and_me_lists_my_channels(voice_world, api_as):
    w = voice_world
    for name in ("carol", "alice", "bob"):
        assert api_as(name).post(f"/api/channels/{w.voice.id}/voice-presence/join").status_code == 201
        time.sleep(0.005)
    assert api_as("bob").post(f"/api/channels/{w.private_voice.id}/voice-presence/join").status_code == 201
    assert [u["username"] for u in presence(api_as("alice"), w.voice)["users"]] == ["carol", "alice", "bob"]

    me = api_as("bob").get("/api/voice-presence/me").get_json()
    assert me["userId"] == str(w.bob.id)
    assert sorted(me["voiceChannels"]) == sorted([str(w.voice.id), str(w.private_voice.id)])
    assert api_as("dave").get("/api/voice-presence/me").get_json() == {"userId": str(w.dave.id), "voiceChannels": []}


def test_leave_by_delete_or_post_tells_the_room_once(live, voice_world, api_as, in_rooms):
    w = voice_world
    (carol,) = in_rooms("carol")
    bob = api_as("bob")
    bob.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    response = bob.delete(f"/api/channels/{w.voice.id}/voice-presence/leave")
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "message": "Successfully left voice channel",
                                   "channelId": str(w.voice.id)}
    left = carol.wait_for("voiceChannelUserLeft")
    assert left["channelId"] == str(w.voice.id) and left["userId"] == str(w.bob.id)
    assert left["user"]["username"] == "bob"
    assert presence(bob, w.voice)["count"] == 0
    assert bob.get("/api/voice-presence/me").get_json()["voiceChannels"] == []

    # leaving again succeeds and says nothing; the POST alias answers 201
    again = bob.post(f"/api/channels/{w.voice.id}/voice-presence/leave")
    assert again.status_code == 201 and again.get_json()["success"] is True
    bob.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    assert bob.post(f"/api/channels/{w.voice.id}/voice-presence/leave").status_code == 201
    time.sleep(0.4)
    assert len(carol.received("voiceChannelUserLeft")) == 2


def test_state_takes_booleans_only_and_never_stores_other_keys(live, voice_world, api_as, in_rooms):
    w = voice_world
    (carol,) = in_rooms("carol")
    bob = api_as("bob")
    url = f"/api/channels/{w.voice.id}/voice-presence/state"

    # not present: 200 and a no-op
    assert bob.put(url, json={"isMuted": True}).status_code == 200
    assert presence(bob, w.voice)["count"] == 0

    bob.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    response = bob.put(url, json={"isMuted": True, "isDeafened": False, "role": "OWNER", "username": "root",
                                  "$set": {"x": 1}})
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "message": "Voice state updated successfully",
                                   "channelId": str(w.voice.id), "updates": {"isMuted": True, "isDeafened": False}}
    event = carol.wait_for("voiceChannelUserUpdated")
    assert event["channelId"] == str(w.voice.id) and event["userId"] == str(w.bob.id)
    assert event["updates"] == {"isMuted": True, "isDeafened": False}
    assert event["user"]["isMuted"] is True and event["user"]["username"] == "bob"
    stored = presence(bob, w.voice)["users"][0]
    assert set(stored) == {"id", "username", "displayName", "joinedAt", "isVideoEnabled", "isScreenSharing",
                           "isMuted", "isDeafened"}
    assert stored["isMuted"] is True and stored["isVideoEnabled"] is False
    raw = redis.hget(f"kraken:voice:channel:{w.voice.id}", str(w.bob.id))
    assert "role" not in raw and "OWNER" not in raw and "$set" not in raw

    for bad in ({"isMuted": "yes"}, {"isVideoEnabled": 1}, {"isScreenSharing": None, "isDeafened": "false"}):
        refused = bob.put(url, json=bad)
        assert refused.status_code == 400, bad
        assert refused.get_json()["code"] == "VALIDATION_FAILED"
    assert bob.put(url, data="[1, 2]", headers={"Content-Type": "application/json"}).status_code == 400
    assert presence(bob, w.voice)["users"][0]["isMuted"] is True  # unchanged by the refused ones


def test_refresh_extends_the_ttl(voice_world, api_as):
    w = voice_world
    bob = api_as("bob")
    alive = f"kraken:voice:alive:{w.voice.id}:{w.bob.id}"
    bob.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    assert 85 <= redis.ttl(alive) <= 90  # docs/decisions/0019-voice-and-livekit.md: 90 s
    redis.expire(alive, 5)
    response = bob.post(f"/api/channels/{w.voice.id}/voice-presence/refresh")
    assert response.status_code == 201
    assert response.get_json() == {"success": True, "message": "Presence refreshed successfully",
                                   "channelId": str(w.voice.id)}
    assert redis.ttl(alive) > 80
    redis.expire(alive, 5)
    bob.put(f"/api/channels/{w.voice.id}/voice-presence/state", json={"isVideoEnabled": True})
    assert redis.ttl(alive) > 80  # a state update refreshes too


def test_an_expired_entry_is_not_listed_and_is_announced_as_left(live, voice_world, api_as, in_rooms):
    w = voice_world
    (carol,) = in_rooms("carol")
    bob = api_as("bob")
    bob.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    redis.delete(f"kraken:voice:alive:{w.voice.id}:{w.bob.id}")  # what the TTL does
    assert presence(api_as("carol"), w.voice)["count"] == 0
    assert carol.wait_for("voiceChannelUserLeft", lambda e: e["userId"] == str(w.bob.id))
    assert bob.get("/api/voice-presence/me").get_json()["voiceChannels"] == []
    assert redis.hlen(f"kraken:voice:channel:{w.voice.id}") == 0


VOICE_ROUTES = [  # method, path, body, status when allowed
    ("GET", "/api/channels/{id}/voice-presence", None, 200),
    ("POST", "/api/channels/{id}/voice-presence/join", None, 201),
    ("DELETE", "/api/channels/{id}/voice-presence/leave", None, 200),
    ("POST", "/api/channels/{id}/voice-presence/leave", None, 201),
    ("PUT", "/api/channels/{id}/voice-presence/state", {"isMuted": True}, 200),
    ("POST", "/api/channels/{id}/voice-presence/refresh", None, 201),
]


@pytest.mark.parametrize("method, path, body, allowed", VOICE_ROUTES, ids=[f"{m} {p}" for m, p, _, _ in VOICE_ROUTES])
@pytest.mark.parametrize("principal, channel, expected", [
    ("bob", "private_voice", "allowed"),  # a member of the private voice channel
    ("alice", "voice", "allowed"),
    ("carol", "private_voice", 404),      # a member of the community, not of the private channel
    ("dave", "voice", 403),               # an outsider
    (None, "voice", 401),                 # anonymous
    ("bob", "malformed", 400),
    ("bob", "missing", 404),
])
def test_voice_routes_answer_each_principal(voice_world, api_as, method, path, body, allowed, principal, channel,
                                            expected):
    channel_id = {"malformed": "not-an-id", "missing": "0123456789abcdef01234567"}.get(channel)
    channel_id = channel_id or str(getattr(voice_world, channel).id)
    response = api_as(principal).open(method, path.format(id=channel_id), json=body)
    assert response.status_code == (allowed if expected == "allowed" else expected), response.get_json()
    if expected != "allowed":
        assert response.get_json()["statusCode"] == expected
        assert redis.hlen(f"kraken:voice:channel:{channel_id}") == 0  # nothing was written


def test_join_refuses_a_text_channel(voice_world, api_as):
    w = voice_world
    response = api_as("bob").post(f"/api/channels/{w.text.id}/voice-presence/join")
    assert response.status_code == 400 and response.get_json()["code"] == "NOT_A_VOICE_CHANNEL"
    assert api_as("bob").get("/api/voice-presence/me").get_json()["voiceChannels"] == []


def test_me_needs_a_token(api_as):
    assert api_as(None).get("/api/voice-presence/me").status_code == 401
