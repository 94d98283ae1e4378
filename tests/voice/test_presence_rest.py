"""Voice presence over REST: storage, shapes, events to the channel room, and who may do what."""
from __future__ import annotations

import time

import pytest

from kraken.extensions import redis
from kraken import dependents
from kraken.users.models import User


def presence(api, channel) -> dict:
    response = api.get(f"/api/channels/{channel.id}/voice-presence")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_join_lists_the_user_and_tells_the_channel_room(live, voice_community, api_as, in_rooms):
    w = voice_community
    User.objects(id=w.pcmember.id).update_one(set__display_name="Bobby", unset__avatar_url=True)
    dependents.wrote(User, id=w.pcmember.id)  # as every write path of a user does
    member, outsider = in_rooms("member", "outsider")
    pcmember = api_as("pcmember")

    response = pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/join", headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.get_json() == {"success": True, "message": "Successfully joined voice channel",
                                   "channelId": str(w.voice.id)}
    event = member.wait_for("voiceChannelUserJoined")
    assert event["channelId"] == str(w.voice.id)
    user = event["user"]
    assert user["id"] == str(w.pcmember.id) and user["username"] == "pcmember" and user["displayName"] == "Bobby"
    assert "avatarUrl" not in user  # omitted when null (contract §3.12)
    assert user["joinedAt"].endswith("Z")
    assert {k: user[k] for k in ("isVideoEnabled", "isScreenSharing", "isMuted", "isDeafened")} == dict.fromkeys(
        ("isVideoEnabled", "isScreenSharing", "isMuted", "isDeafened"), False)
    assert not outsider.received("voiceChannelUserJoined")  # an outsider hears nothing

    listed = presence(api_as("member"), w.voice)
    assert listed == {"channelId": str(w.voice.id), "users": [user], "count": 1}

    # joining again only refreshes: no second event, joinedAt kept
    assert pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/join").status_code == 201
    time.sleep(0.4)
    assert len(member.received("voiceChannelUserJoined")) == 1
    assert presence(pcmember, w.voice)["users"][0]["joinedAt"] == user["joinedAt"]


def test_users_are_listed_by_join_time_and_me_lists_my_channels(voice_community, api_as):
    w = voice_community
    for name in ("member", "admin", "pcmember"):
        assert api_as(name).post(f"/api/channels/{w.voice.id}/voice-presence/join").status_code == 201
        time.sleep(0.005)
    assert api_as("pcmember").post(f"/api/channels/{w.private_voice.id}/voice-presence/join").status_code == 201
    assert [u["username"] for u in presence(api_as("admin"), w.voice)["users"]] == ["member", "admin", "pcmember"]

    me = api_as("pcmember").get("/api/voice-presence/me").get_json()
    assert me["userId"] == str(w.pcmember.id)
    assert sorted(me["voiceChannels"]) == sorted([str(w.voice.id), str(w.private_voice.id)])
    assert api_as("outsider").get("/api/voice-presence/me").get_json() == {"userId": str(w.outsider.id), "voiceChannels": []}


def test_leave_by_delete_or_post_tells_the_room_once(live, voice_community, api_as, in_rooms):
    w = voice_community
    (member,) = in_rooms("member")
    pcmember = api_as("pcmember")
    pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    response = pcmember.delete(f"/api/channels/{w.voice.id}/voice-presence/leave")
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "message": "Successfully left voice channel",
                                   "channelId": str(w.voice.id)}
    left = member.wait_for("voiceChannelUserLeft")
    assert left["channelId"] == str(w.voice.id) and left["userId"] == str(w.pcmember.id)
    assert left["user"]["username"] == "pcmember"
    assert presence(pcmember, w.voice)["count"] == 0
    assert pcmember.get("/api/voice-presence/me").get_json()["voiceChannels"] == []

    # leaving again succeeds and says nothing; the POST alias answers 201
    again = pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/leave")
    assert again.status_code == 201 and again.get_json()["success"] is True
    pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    assert pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/leave").status_code == 201
    time.sleep(0.4)
    assert len(member.received("voiceChannelUserLeft")) == 2


def test_state_takes_booleans_only_and_never_stores_other_keys(live, voice_community, api_as, in_rooms):
    w = voice_community
    (member,) = in_rooms("member")
    pcmember = api_as("pcmember")
    url = f"/api/channels/{w.voice.id}/voice-presence/state"

    # not present: 200 and a no-op
    assert pcmember.put(url, json={"isMuted": True}).status_code == 200
    assert presence(pcmember, w.voice)["count"] == 0

    pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    response = pcmember.put(url, json={"isMuted": True, "isDeafened": False, "role": "OWNER", "username": "root",
                                  "$set": {"x": 1}})
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "message": "Voice state updated successfully",
                                   "channelId": str(w.voice.id), "updates": {"isMuted": True, "isDeafened": False}}
    event = member.wait_for("voiceChannelUserUpdated")
    assert event["channelId"] == str(w.voice.id) and event["userId"] == str(w.pcmember.id)
    assert event["updates"] == {"isMuted": True, "isDeafened": False}
    assert event["user"]["isMuted"] is True and event["user"]["username"] == "pcmember"
    stored = presence(pcmember, w.voice)["users"][0]
    assert set(stored) == {"id", "username", "displayName", "joinedAt", "isVideoEnabled", "isScreenSharing",
                           "isMuted", "isDeafened"}
    assert stored["isMuted"] is True and stored["isVideoEnabled"] is False
    raw = redis.hget(f"kraken:voice:channel:{w.voice.id}", str(w.pcmember.id))
    assert "role" not in raw and "OWNER" not in raw and "$set" not in raw

    for bad in ({"isMuted": "yes"}, {"isVideoEnabled": 1}, {"isScreenSharing": None, "isDeafened": "false"}):
        refused = pcmember.put(url, json=bad)
        assert refused.status_code == 400, bad
        assert refused.get_json()["code"] == "VALIDATION_FAILED"
    assert pcmember.put(url, data="[1, 2]", headers={"Content-Type": "application/json"}).status_code == 400
    assert presence(pcmember, w.voice)["users"][0]["isMuted"] is True  # unchanged by the refused ones


def test_deafen_sets_the_flag_and_tells_the_channel_room(live, voice_community, api_as, in_rooms):
    """`POST .../deafen {isDeafened}` (KLE §7.2): 201 with the later versions' message, the flag stored and
    `voiceChannelUserUpdated` to the channel room; a no-op, still 201, when the caller is not present."""
    w = voice_community
    member, outsider = in_rooms("member", "outsider")
    pcmember = api_as("pcmember")
    url = f"/api/channels/{w.voice.id}/voice-presence/deafen"

    absent = pcmember.post(url, json={"isDeafened": True})
    assert absent.status_code == 201
    assert absent.get_json() == {"success": True, "message": "Deafen state updated to true",
                                 "channelId": str(w.voice.id)}
    assert presence(pcmember, w.voice)["count"] == 0  # nothing stored for someone not present

    pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    alive = f"kraken:voice:alive:{w.voice.id}:{w.pcmember.id}"
    redis.expire(alive, 5)
    response = pcmember.post(url, json={"isDeafened": True})
    assert response.status_code == 201
    assert response.get_json() == {"success": True, "message": "Deafen state updated to true",
                                   "channelId": str(w.voice.id)}
    event = member.wait_for("voiceChannelUserUpdated")
    assert event["channelId"] == str(w.voice.id) and event["userId"] == str(w.pcmember.id)
    assert event["user"]["isDeafened"] is True and event["user"]["username"] == "pcmember"
    assert event["updates"] == {"isDeafened": True}
    stored = presence(pcmember, w.voice)["users"][0]
    assert stored["isDeafened"] is True and stored["isMuted"] is False
    assert redis.ttl(alive) > 80  # a deafen refreshes the entry as a state update does

    undeafen = pcmember.post(url, json={"isDeafened": False})
    assert undeafen.status_code == 201 and undeafen.get_json()["message"] == "Deafen state updated to false"
    assert member.wait_for("voiceChannelUserUpdated", lambda e: e["user"]["isDeafened"] is False)
    assert presence(pcmember, w.voice)["users"][0]["isDeafened"] is False
    assert not outsider.received("voiceChannelUserUpdated")


@pytest.mark.parametrize("body", [None, {}, {"isDeafened": "true"}, {"isDeafened": 1}, {"isDeafened": None},
                                  {"isMuted": True}, [True], "true"])
def test_deafen_takes_one_boolean(voice_community, api_as, body):
    w = voice_community
    pcmember = api_as("pcmember")
    pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    url = f"/api/channels/{w.voice.id}/voice-presence/deafen"
    response = pcmember.post(url, json=body) if body is not None else pcmember.post(url)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["statusCode"] == 400
    assert presence(pcmember, w.voice)["users"][0]["isDeafened"] is False


@pytest.mark.parametrize("principal, channel, expected", [
    ("member", "private_voice", 404),   # a member of the community, not of the private channel
    ("outsider", "voice", 403),
    ("outsider", "private_voice", 404),
    (None, "voice", 401),
])
def test_deafen_by_someone_without_access_changes_nothing(live, voice_community, api_as, in_rooms, principal,
                                                          channel, expected):
    """A present user's entry is untouched and nobody hears an update when someone who may not join the
    channel posts a deafen for it."""
    w = voice_community
    (admin,) = in_rooms("admin")
    target = getattr(w, channel)
    assert api_as("pcmember").post(f"/api/channels/{target.id}/voice-presence/join").status_code == 201
    before = redis.hgetall(f"kraken:voice:channel:{target.id}")
    response = api_as(principal).post(f"/api/channels/{target.id}/voice-presence/deafen", json={"isDeafened": True})
    assert response.status_code == expected, response.get_json()
    assert response.get_json()["statusCode"] == expected
    assert redis.hgetall(f"kraken:voice:channel:{target.id}") == before
    time.sleep(0.4)
    assert not admin.received("voiceChannelUserUpdated")


def test_refresh_extends_the_ttl(voice_community, api_as):
    w = voice_community
    pcmember = api_as("pcmember")
    alive = f"kraken:voice:alive:{w.voice.id}:{w.pcmember.id}"
    pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    assert 85 <= redis.ttl(alive) <= 90  # docs/decisions/0019-voice-and-livekit.md: 90 s
    redis.expire(alive, 5)
    response = pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/refresh")
    assert response.status_code == 201
    assert response.get_json() == {"success": True, "message": "Presence refreshed successfully",
                                   "channelId": str(w.voice.id)}
    assert redis.ttl(alive) > 80
    redis.expire(alive, 5)
    pcmember.put(f"/api/channels/{w.voice.id}/voice-presence/state", json={"isVideoEnabled": True})
    assert redis.ttl(alive) > 80  # a state update refreshes too


def test_an_expired_entry_is_not_listed_and_is_announced_as_left(live, voice_community, api_as, in_rooms):
    w = voice_community
    (member,) = in_rooms("member")
    pcmember = api_as("pcmember")
    pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/join")
    redis.delete(f"kraken:voice:alive:{w.voice.id}:{w.pcmember.id}")  # what the TTL does
    assert presence(api_as("member"), w.voice)["count"] == 0
    assert member.wait_for("voiceChannelUserLeft", lambda e: e["userId"] == str(w.pcmember.id))
    assert pcmember.get("/api/voice-presence/me").get_json()["voiceChannels"] == []
    assert redis.hlen(f"kraken:voice:channel:{w.voice.id}") == 0


VOICE_ROUTES = [  # method, path, body, status when allowed
    ("GET", "/api/channels/{id}/voice-presence", None, 200),
    ("POST", "/api/channels/{id}/voice-presence/join", None, 201),
    ("DELETE", "/api/channels/{id}/voice-presence/leave", None, 200),
    ("POST", "/api/channels/{id}/voice-presence/leave", None, 201),
    ("PUT", "/api/channels/{id}/voice-presence/state", {"isMuted": True}, 200),
    ("POST", "/api/channels/{id}/voice-presence/refresh", None, 201),
    ("POST", "/api/channels/{id}/voice-presence/deafen", {"isDeafened": True}, 201),
]


@pytest.mark.parametrize("method, path, body, allowed", VOICE_ROUTES, ids=[f"{m} {p}" for m, p, _, _ in VOICE_ROUTES])
@pytest.mark.parametrize("principal, channel, expected", [
    ("pcmember", "private_voice", "allowed"),  # a member of the private voice channel
    ("admin", "voice", "allowed"),
    ("member", "private_voice", 404),      # a member of the community, not of the private channel
    ("outsider", "voice", 403),               # an outsider
    (None, "voice", 401),                 # anonymous
    ("pcmember", "malformed", 400),
    ("pcmember", "missing", 404),
])
def test_voice_routes_answer_each_principal(voice_community, api_as, method, path, body, allowed, principal, channel,
                                            expected):
    channel_id = {"malformed": "not-an-id", "missing": "0123456789abcdef01234567"}.get(channel)
    channel_id = channel_id or str(getattr(voice_community, channel).id)
    response = api_as(principal).open(method, path.format(id=channel_id), json=body)
    assert response.status_code == (allowed if expected == "allowed" else expected), response.get_json()
    if expected != "allowed":
        assert response.get_json()["statusCode"] == expected
        assert redis.hlen(f"kraken:voice:channel:{channel_id}") == 0  # nothing was written


def test_join_refuses_a_text_channel(voice_community, api_as):
    w = voice_community
    response = api_as("pcmember").post(f"/api/channels/{w.text.id}/voice-presence/join")
    assert response.status_code == 400 and response.get_json()["code"] == "NOT_A_VOICE_CHANNEL"
    assert api_as("pcmember").get("/api/voice-presence/me").get_json()["voiceChannels"] == []


def test_me_needs_a_token(api_as):
    assert api_as(None).get("/api/voice-presence/me").status_code == 401
