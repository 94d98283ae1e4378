"""`POST /api/livekit/webhook`: signed exactly as LiveKit signs, refused when it is not, authoritative
for voice presence, exempt from rate limits, and delivered by a real livekit-server."""
from __future__ import annotations

import itertools
import time

import pytest
import requests
from google.protobuf.json_format import MessageToJson
from livekit import api

from kraken.extensions import redis
from tests.live import wait_for
from tests.voice.livekit_helpers import (DEV_SECRET, Participant, PrivateLiveKit, create_room, mint, room_names,
                                         server_api, sign_webhook)

_ids = itertools.count(1)
WEBHOOK = "/api/livekit/webhook"


def event_body(event: str, room: object, identity: object | None = None) -> bytes:
    """A webhook body as livekit-server writes it (protobuf JSON of a WebhookEvent)."""
    message = api.WebhookEvent(event=event, room=api.Room(name=str(room), sid="RM_test"), id=f"EV_{next(_ids)}",
                               created_at=int(time.time()))
    if identity is not None:
        message.participant.CopyFrom(api.ParticipantInfo(identity=str(identity), sid="PA_test", name="someone"))
    return MessageToJson(message).encode()


def deliver(client, body: bytes, authorization: str | None = "sign"):
    headers = {"Content-Type": "application/webhook+json"}
    if authorization == "sign":
        authorization = sign_webhook(body)
    if authorization is not None:
        headers["Authorization"] = authorization
    return client.post(WEBHOOK, data=body, headers=headers)


def present(channel) -> list[str]:
    return sorted(redis.hkeys(f"kraken:voice:channel:{channel.id}"))


def test_participant_joined_and_left_drive_voice_presence(live, voice_community, client, in_rooms):
    w = voice_community
    (member,) = in_rooms("member")
    response = deliver(client, event_body("participant_joined", w.voice.id, w.pcmember.id))
    assert response.status_code == 200 and response.get_json() == {"success": True, "applied": True}
    assert present(w.voice) == [str(w.pcmember.id)]
    joined = member.wait_for("voiceChannelUserJoined")
    assert joined["channelId"] == str(w.voice.id) and joined["user"]["username"] == "pcmember"

    # "Bearer <jwt>" works too
    body = event_body("participant_left", w.voice.id, w.pcmember.id)
    assert deliver(client, body, f"Bearer {sign_webhook(body)}").status_code == 200
    assert present(w.voice) == []
    assert member.wait_for("voiceChannelUserLeft")["userId"] == str(w.pcmember.id)


def test_room_finished_clears_the_channel(voice_community, client, api_as):
    w = voice_community
    for name in ("admin", "pcmember"):
        api_as(name).post(f"/api/channels/{w.voice.id}/voice-presence/join")
    api_as("pcmember").post(f"/api/channels/{w.private_voice.id}/voice-presence/join")
    assert deliver(client, event_body("room_finished", w.voice.id)).status_code == 200
    assert present(w.voice) == []
    assert present(w.private_voice) == [str(w.pcmember.id)]  # other rooms untouched
    assert api_as("admin").get("/api/voice-presence/me").get_json()["voiceChannels"] == []


@pytest.mark.parametrize("case", ["unsigned", "garbage", "tampered body", "wrong key", "wrong secret",
                                  "no sha256", "expired"])
def test_an_unverified_webhook_is_refused_and_changes_nothing(voice_community, client, api_as, case):
    w = voice_community
    api_as("admin").post(f"/api/channels/{w.voice.id}/voice-presence/join")
    body = event_body("participant_joined", w.voice.id, w.pcmember.id)
    if case == "unsigned":
        authorization = None
    elif case == "garbage":
        authorization = "not.a.jwt"
    elif case == "tampered body":
        # a valid signature of the join, sent with a leave for admin: the hash no longer matches
        signed = event_body("participant_left", w.voice.id, w.admin.id)
        authorization, body = sign_webhook(body), signed
    elif case == "wrong key":
        authorization = sign_webhook(body, key="someone-else")
    elif case == "wrong secret":
        authorization = sign_webhook(body, secret="f" * 32)
    elif case == "no sha256":
        authorization = api.AccessToken("devkey", DEV_SECRET).to_jwt()
    else:
        import base64
        import hashlib
        import jwt
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        authorization = jwt.encode({"iss": "devkey", "sha256": digest, "exp": int(time.time()) - 600, "nbf": 0},
                                   DEV_SECRET, algorithm="HS256")
    response = deliver(client, body, authorization)
    assert response.status_code == 401, response.get_json()
    assert response.get_json()["code"] == "INVALID_WEBHOOK_SIGNATURE" and response.get_json()["statusCode"] == 401
    assert present(w.voice) == [str(w.admin.id)]  # nothing changed


def test_events_about_other_rooms_or_people_are_ignored(voice_community, client):
    w = voice_community
    for body in (event_body("participant_joined", "lobby", w.pcmember.id),                 # not a channel id
                 event_body("participant_joined", w.text.id, w.pcmember.id),               # a TEXT channel
                 event_body("participant_joined", "0123456789abcdef01234567", w.pcmember.id),  # no such channel
                 event_body("participant_joined", w.voice.id, "egress-bot"),          # not a user
                 event_body("participant_joined", w.voice.id, "0123456789abcdef01234567"),
                 event_body("room_started", w.voice.id),
                 event_body("track_published", w.voice.id, w.pcmember.id)):
        response = deliver(client, body)
        assert response.status_code == 200 and response.get_json() == {"success": True, "applied": False}
    assert present(w.voice) == [] and present(w.text) == []


def test_a_participant_without_access_is_not_recorded(voice_community, client):
    w = voice_community
    response = deliver(client, event_body("participant_joined", w.private_voice.id, w.member.id))
    assert response.status_code == 200
    assert present(w.private_voice) == []
    response = deliver(client, event_body("participant_joined", w.voice.id, w.outsider.id))  # an outsider
    assert response.status_code == 200
    assert present(w.voice) == []


def test_a_signed_body_that_is_not_an_event_is_a_400(voice_community, client):
    body = b'{"event": 12, "room": "nope"'
    response = deliver(client, body)
    assert response.status_code == 400 and response.get_json()["statusCode"] == 400


def test_the_webhook_is_exempt_from_rate_limits(live, voice_community):
    """The live server runs with rate limits on: an ordinary route is cut off, the webhook is not."""
    w = voice_community
    bodies = [event_body("participant_joined" if i % 2 == 0 else "participant_left", w.voice.id, w.pcmember.id)
              for i in range(12)]
    statuses = [requests.post(live.url + WEBHOOK, data=body, timeout=5,
                              headers={"Content-Type": "application/webhook+json",
                                       "Authorization": sign_webhook(body)}).status_code for body in bodies]
    assert statuses == [200] * 12
    # 105 calls overrun the default for reads, "20 per 1 second;100 per 10 seconds", however slow the machine is
    ordinary = [requests.get(live.url + "/api/livekit/connection-info", timeout=5).status_code for _ in range(105)]
    assert 429 in ordinary


@pytest.fixture
def private_livekit(live, tmp_path):
    """A livekit-server of this test whose webhook posts to the live Kraken server."""
    server = PrivateLiveKit(tmp_path, live.url + WEBHOOK).start()
    yield server
    server.stop()


def test_a_real_livekit_server_delivers_webhooks_that_drive_presence(live, private_livekit, voice_community, api_as,
                                                                      in_rooms):
    w = voice_community
    (member,) = in_rooms("member")
    room = str(w.voice.id)
    create_room(room, private_livekit.url, empty_timeout=60)
    pcmember = Participant()
    try:
        pcmember.connect(private_livekit.ws_url, mint(str(w.pcmember.id), room))
        # participant_joined, sent by LiveKit to the live server, verified and applied there
        assert member.wait_for("voiceChannelUserJoined", lambda e: e["user"]["id"] == str(w.pcmember.id), timeout=15)
        assert wait_for(lambda: present(w.voice) == [str(w.pcmember.id)], 5)
    finally:
        pcmember.close()
    # participant_left
    assert member.wait_for("voiceChannelUserLeft", lambda e: e["userId"] == str(w.pcmember.id), timeout=15)
    assert wait_for(lambda: present(w.voice) == [], 5)

    # room_finished is authoritative: it clears whoever the app still lists
    api_as("admin").post(f"/api/channels/{room}/voice-presence/join")
    assert present(w.voice) == [str(w.admin.id)]
    server_api(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room=room)), private_livekit.url)
    assert member.wait_for("voiceChannelUserLeft", lambda e: e["userId"] == str(w.admin.id), timeout=15)
    assert present(w.voice) == []
    assert room not in room_names(private_livekit.url)
