"""Room management on the real LiveKit dev server, driven through the live gunicorn server (so the
asyncio bridge runs monkey-patched under gevent): removals, deletions and muting."""
from __future__ import annotations

import time

import pytest
import requests
from livekit import api

from kraken.extensions import redis
from tests.live import wait_for
from tests.voice.livekit_helpers import (DEV_WS, Participant, create_room, mint, participants, room_names,
                                         server_api, sign_webhook)
from tests.voice.test_webhook import event_body


def live_api(live, token: str | None, method: str, path: str, **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, live.url + path, headers=headers, timeout=10, **kw)


def present(channel) -> list[str]:
    return sorted(redis.hkeys(f"kraken:voice:channel:{channel.id}"))


@pytest.fixture
def in_call(live, voice_world):
    """in_call(name, channel) -> a real LiveKit participant, joined with a token from the live server,
    and present in the channel's voice presence."""
    opened: list[Participant] = []

    def _join(name: str, channel) -> Participant:
        token = voice_world.tokens[name]
        minted = live_api(live, token, "POST", "/api/livekit/token", json={"roomId": str(channel.id)})
        assert minted.status_code == 201, minted.text
        assert live_api(live, token, "POST", f"/api/channels/{channel.id}/voice-presence/join").status_code == 201
        participant = Participant()
        opened.append(participant)
        return participant.connect(minted.json()["url"], minted.json()["token"])

    yield _join
    for participant in opened:
        participant.close()


def test_a_removed_member_is_disconnected_from_livekit_and_voice_presence(live, voice_world, in_call, in_rooms):
    w = voice_world
    (carol,) = in_rooms("carol")
    bob = in_call("bob", w.voice)
    assert participants(w.voice.id) == [str(w.bob.id)]
    removed = live_api(live, w.tokens["alice"], "DELETE", f"/api/membership/community/{w.club.id}/user/{w.bob.id}")
    assert removed.status_code in (200, 204), removed.text
    assert wait_for(lambda: participants(w.voice.id) == [], 10)
    assert bob.disconnected.wait(10)  # LiveKit closed the client's connection
    assert present(w.voice) == []
    assert carol.wait_for("voiceChannelUserLeft", lambda e: e["userId"] == str(w.bob.id))


def test_losing_a_private_voice_channel_disconnects_from_its_room(live, voice_world, in_call):
    w = voice_world
    bob = in_call("bob", w.private_voice)
    assert participants(w.private_voice.id) == [str(w.bob.id)]
    revoked = live_api(live, w.tokens["alice"], "DELETE",
                       f"/api/channel-membership/channel/{w.private_voice.id}/user/{w.bob.id}")
    assert revoked.status_code in (200, 204), revoked.text
    assert wait_for(lambda: participants(w.private_voice.id) == [], 10)
    assert bob.disconnected.wait(10)
    assert present(w.private_voice) == []


def test_deleting_a_channel_closes_its_room_and_clears_presence(live, voice_world, api_as):
    w = voice_world
    create_room(w.private_voice.id)
    assert str(w.private_voice.id) in room_names()
    api_as("bob").post(f"/api/channels/{w.private_voice.id}/voice-presence/join")
    deleted = live_api(live, w.tokens["alice"], "DELETE", f"/api/channels/{w.private_voice.id}")
    assert deleted.status_code in (200, 204), deleted.text
    assert wait_for(lambda: str(w.private_voice.id) not in room_names(), 10)
    assert present(w.private_voice) == []
    assert api_as("bob").get("/api/voice-presence/me").get_json()["voiceChannels"] == []


def test_deleting_a_community_closes_every_room(voice_world, api_as):
    w = voice_world
    for channel in (w.voice, w.private_voice):
        create_room(channel.id)
    api_as("alice").post(f"/api/channels/{w.voice.id}/voice-presence/join")
    assert api_as("alice").delete(f"/api/community/{w.club.id}").status_code in (200, 204)
    assert wait_for(lambda: not {str(w.voice.id), str(w.private_voice.id)} & set(room_names()), 10)
    assert present(w.voice) == []


def test_a_webhook_join_by_someone_without_access_is_kicked(voice_world, client):
    """A token minted before carol had no access any more: LiveKit reports her, the app removes her."""
    w = voice_world
    carol = Participant()
    try:
        carol.connect(DEV_WS, mint(str(w.carol.id), str(w.private_voice.id)))
        assert participants(w.private_voice.id) == [str(w.carol.id)]
        body = event_body("participant_joined", w.private_voice.id, w.carol.id)
        response = client.post("/api/livekit/webhook", data=body, headers={
            "Content-Type": "application/webhook+json", "Authorization": sign_webhook(body)})
        assert response.status_code == 200
        assert wait_for(lambda: participants(w.private_voice.id) == [], 10)
        assert carol.disconnected.wait(10)
        assert present(w.private_voice) == []
    finally:
        carol.close()


def test_a_moderator_mutes_a_participants_audio(live, voice_world, in_call, in_rooms):
    w = voice_world
    (carol,) = in_rooms("carol")
    bob = in_call("bob", w.voice)
    track = bob.publish_audio()
    url = f"/api/livekit/channels/{w.voice.id}/mute-participant"

    refused = live_api(live, w.tokens["carol"], "POST", url, json={"userId": str(w.bob.id), "muted": True})
    assert refused.status_code == 403  # a Member has no MANAGE_VOICE

    muted = live_api(live, w.tokens["alice"], "POST", url, json={"userId": str(w.bob.id), "muted": True})
    assert muted.status_code == 201, muted.text
    assert muted.json() == {"success": True, "channelId": str(w.voice.id), "userId": str(w.bob.id), "muted": True,
                            "trackSids": [track]}

    def track_muted():
        info = server_api(lambda lk: lk.room.get_participant(
            api.RoomParticipantIdentity(room=str(w.voice.id), identity=str(w.bob.id))))
        return [t.muted for t in info.tracks if t.sid == track] == [True]
    assert wait_for(track_muted, 5)
    updated = carol.wait_for("voiceChannelUserUpdated")
    assert updated["userId"] == str(w.bob.id) and updated["updates"] == {"isMuted": True}

    # one named track, the later versions' field names
    again = live_api(live, w.tokens["alice"], "POST", url,
                     json={"participantIdentity": str(w.bob.id), "trackSid": track, "mute": True})
    assert again.status_code == 201 and again.json()["trackSids"] == [track]


@pytest.mark.parametrize("who, channel, body, expected", [
    ("alice", "voice", {"userId": "0123456789abcdef01234567", "muted": True}, 404),  # not in the room
    ("alice", "voice", {"userId": "BOB", "muted": True, "trackSid": "TR_nope"}, 404),  # no such track
    ("alice", "voice", {"userId": "BOB", "muted": "yes"}, 400),
    ("alice", "voice", {"muted": True}, 400),
    ("alice", "text", {"userId": "BOB", "muted": True}, 400),
    ("alice", "malformed", {"userId": "BOB", "muted": True}, 400),
    ("carol", "private_voice", {"userId": "BOB", "muted": True}, 404),
    ("dave", "voice", {"userId": "BOB", "muted": True}, 403),
    (None, "voice", {"userId": "BOB", "muted": True}, 401),
])
def test_mute_answers_each_case(live, voice_world, in_call, who, channel, body, expected):
    w = voice_world
    in_call("bob", w.voice).publish_audio()
    channel_id = "nope" if channel == "malformed" else str(getattr(w, channel).id)
    body = {k: (str(w.bob.id) if v == "BOB" else v) for k, v in body.items()}
    response = live_api(live, w.tokens[who] if who else None, "POST",
                        f"/api/livekit/channels/{channel_id}/mute-participant", json=body)
    assert response.status_code == expected, response.text
    assert response.json()["statusCode"] == expected
    time.sleep(0.2)
    info = server_api(lambda lk: lk.room.get_participant(
        api.RoomParticipantIdentity(room=str(w.voice.id), identity=str(w.bob.id))))
    assert not any(t.muted for t in info.tracks)  # nothing was muted


def test_the_live_server_reaches_livekit(live, voice_world):
    w = voice_world
    health = live_api(live, w.tokens["bob"], "GET", "/api/livekit/health")
    assert health.status_code == 200 and health.json() == {"status": "healthy", "configured": True}
    overall = requests.get(live.url + "/api/health", timeout=5).json()
    assert overall["info"]["livekit"] == {"status": "up"}
    info = live_api(live, w.tokens["bob"], "GET", "/api/livekit/connection-info")
    assert info.json() == {"url": DEV_WS}
    for path in ("/api/livekit/health", "/api/livekit/connection-info"):
        assert live_api(live, None, "GET", path).status_code == 401
