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
def in_call(live, voice_community):
    """in_call(name, channel) -> a real LiveKit participant, joined with a token from the live server,
    and present in the channel's voice presence."""
    opened: list[Participant] = []

    def _join(name: str, channel) -> Participant:
        token = voice_community.tokens[name]
        minted = live_api(live, token, "POST", "/api/livekit/token", json={"roomId": str(channel.id)})
        assert minted.status_code == 201, minted.text
        assert live_api(live, token, "POST", f"/api/channels/{channel.id}/voice-presence/join").status_code == 201
        participant = Participant()
        opened.append(participant)
        return participant.connect(minted.json()["url"], minted.json()["token"])

    yield _join
    for participant in opened:
        participant.close()


def test_a_removed_member_is_disconnected_from_livekit_and_voice_presence(live, voice_community, in_call, in_rooms):
    w = voice_community
    (member,) = in_rooms("member")
    pcmember = in_call("pcmember", w.voice)
    assert participants(w.voice.id) == [str(w.pcmember.id)]
    removed = live_api(live, w.tokens["admin"], "DELETE", f"/api/membership/community/{w.id}/user/{w.pcmember.id}")
    assert removed.status_code in (200, 204), removed.text
    assert wait_for(lambda: participants(w.voice.id) == [], 10)
    assert pcmember.disconnected.wait(10)  # LiveKit closed the client's connection
    assert present(w.voice) == []
    assert member.wait_for("voiceChannelUserLeft", lambda e: e["userId"] == str(w.pcmember.id))


def test_losing_a_private_voice_channel_disconnects_from_its_room(live, voice_community, in_call):
    w = voice_community
    pcmember = in_call("pcmember", w.private_voice)
    assert participants(w.private_voice.id) == [str(w.pcmember.id)]
    revoked = live_api(live, w.tokens["admin"], "DELETE",
                       f"/api/channel-membership/channel/{w.private_voice.id}/user/{w.pcmember.id}")
    assert revoked.status_code in (200, 204), revoked.text
    assert wait_for(lambda: participants(w.private_voice.id) == [], 10)
    assert pcmember.disconnected.wait(10)
    assert present(w.private_voice) == []


def test_deleting_a_channel_closes_its_room_and_clears_presence(live, voice_community, api_as):
    w = voice_community
    create_room(w.private_voice.id)
    assert str(w.private_voice.id) in room_names()
    api_as("pcmember").post(f"/api/channels/{w.private_voice.id}/voice-presence/join")
    deleted = live_api(live, w.tokens["admin"], "DELETE", f"/api/channels/{w.private_voice.id}")
    assert deleted.status_code in (200, 204), deleted.text
    assert wait_for(lambda: str(w.private_voice.id) not in room_names(), 10)
    assert present(w.private_voice) == []
    assert api_as("pcmember").get("/api/voice-presence/me").get_json()["voiceChannels"] == []


def test_deleting_a_community_closes_every_room(voice_community, api_as):
    w = voice_community
    for channel in (w.voice, w.private_voice):
        create_room(channel.id)
    api_as("admin").post(f"/api/channels/{w.voice.id}/voice-presence/join")
    assert api_as("admin").delete(f"/api/community/{w.id}").status_code in (200, 204)
    assert wait_for(lambda: not {str(w.voice.id), str(w.private_voice.id)} & set(room_names()), 10)
    assert present(w.voice) == []


def test_a_webhook_join_by_someone_without_access_is_kicked(voice_community, client):
    """A token minted before member had no access any more: LiveKit reports her, the app removes her."""
    w = voice_community
    member = Participant()
    try:
        member.connect(DEV_WS, mint(str(w.member.id), str(w.private_voice.id)))
        assert participants(w.private_voice.id) == [str(w.member.id)]
        body = event_body("participant_joined", w.private_voice.id, w.member.id)
        response = client.post("/api/livekit/webhook", data=body, headers={
            "Content-Type": "application/webhook+json", "Authorization": sign_webhook(body)})
        assert response.status_code == 200
        assert wait_for(lambda: participants(w.private_voice.id) == [], 10)
        assert member.disconnected.wait(10)
        assert present(w.private_voice) == []
    finally:
        member.close()


def test_a_moderator_mutes_a_participants_audio(live, voice_community, in_call, in_rooms):
    w = voice_community
    (member,) = in_rooms("member")
    pcmember = in_call("pcmember", w.voice)
    track = pcmember.publish_audio()
    url = f"/api/livekit/channels/{w.voice.id}/mute-participant"

    refused = live_api(live, w.tokens["member"], "POST", url, json={"userId": str(w.pcmember.id), "muted": True})
    assert refused.status_code == 403  # a Member has no MANAGE_VOICE

    muted = live_api(live, w.tokens["admin"], "POST", url, json={"userId": str(w.pcmember.id), "muted": True})
    assert muted.status_code == 201, muted.text
    assert muted.json() == {"success": True, "channelId": str(w.voice.id), "userId": str(w.pcmember.id), "muted": True,
                            "trackSids": [track]}

    def track_muted():
        info = server_api(lambda lk: lk.room.get_participant(
            api.RoomParticipantIdentity(room=str(w.voice.id), identity=str(w.pcmember.id))))
        return [t.muted for t in info.tracks if t.sid == track] == [True]
    assert wait_for(track_muted, 5)
    updated = member.wait_for("voiceChannelUserUpdated")
    assert updated["userId"] == str(w.pcmember.id) and updated["updates"] == {"isMuted": True}

    # one named track, the later versions' field names
    again = live_api(live, w.tokens["admin"], "POST", url,
                     json={"participantIdentity": str(w.pcmember.id), "trackSid": track, "mute": True})
    assert again.status_code == 201 and again.json()["trackSids"] == [track]


@pytest.mark.parametrize("who, channel, body, expected", [
    ("admin", "voice", {"userId": "0123456789abcdef01234567", "muted": True}, 404),  # not in the room
    ("admin", "voice", {"userId": "PCMEMBER", "muted": True, "trackSid": "TR_nope"}, 404),  # no such track
    ("admin", "voice", {"userId": "PCMEMBER", "muted": "yes"}, 400),
    ("admin", "voice", {"muted": True}, 400),
    ("admin", "text", {"userId": "PCMEMBER", "muted": True}, 400),
    ("admin", "malformed", {"userId": "PCMEMBER", "muted": True}, 400),
    ("member", "private_voice", {"userId": "PCMEMBER", "muted": True}, 404),
    ("outsider", "voice", {"userId": "PCMEMBER", "muted": True}, 403),
    (None, "voice", {"userId": "PCMEMBER", "muted": True}, 401),
])
def test_mute_answers_each_case(live, voice_community, in_call, who, channel, body, expected):
    w = voice_community
    in_call("pcmember", w.voice).publish_audio()
    channel_id = "nope" if channel == "malformed" else str(getattr(w, channel).id)
    body = {k: (str(w.pcmember.id) if v == "PCMEMBER" else v) for k, v in body.items()}
    response = live_api(live, w.tokens[who] if who else None, "POST",
                        f"/api/livekit/channels/{channel_id}/mute-participant", json=body)
    assert response.status_code == expected, response.text
    assert response.json()["statusCode"] == expected
    time.sleep(0.2)
    info = server_api(lambda lk: lk.room.get_participant(
        api.RoomParticipantIdentity(room=str(w.voice.id), identity=str(w.pcmember.id))))
    assert not any(t.muted for t in info.tracks)  # nothing was muted


def test_the_live_server_reaches_livekit(live, voice_community):
    w = voice_community
    health = live_api(live, w.tokens["pcmember"], "GET", "/api/livekit/health")
    assert health.status_code == 200 and health.json() == {"status": "healthy", "configured": True}
    overall = requests.get(live.url + "/api/health", timeout=5).json()
    assert overall["info"]["livekit"] == {"status": "up"}
    info = live_api(live, w.tokens["pcmember"], "GET", "/api/livekit/connection-info")
    assert info.json() == {"url": DEV_WS}
    for path in ("/api/livekit/health", "/api/livekit/connection-info"):
        assert live_api(live, None, "GET", path).status_code == 401
