"""`POST /api/livekit/token` against the real LiveKit dev server: what LiveKit accepts and refuses."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import jwt
import pytest
from livekit import api, rtc

from kraken import dependents
from kraken.users.models import User
from tests.live import wait_for
from tests.voice.livekit_helpers import DEV_SECRET, DEV_WS, Participant, participants, rtc_validate, server_api


def token_for_room(api, channel, **body) -> dict:
    response = api.post("/api/livekit/token", json={"roomId": str(channel.id), **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def claims(token: str) -> dict:
    return jwt.decode(token, DEV_SECRET, algorithms=["HS256"], issuer="devkey")


def resigned(token: str, secret: str = DEV_SECRET, **changes) -> str:
    return jwt.encode({**claims(token), **changes}, secret, algorithm="HS256")


def test_the_token_is_the_callers_for_one_room_with_explicit_grants(voice_community, api_as):
    w = voice_community
    User.objects(id=w.pcmember.id).update_one(set__display_name="Bobby")
    dependents.wrote(User, id=w.pcmember.id)  # as every write path of a user does
    before = int(time.time())
    out = token_for_room(api_as("pcmember"), w.voice, identity=str(w.admin.id))  # tries to be admin
    assert set(out) == {"token", "identity", "roomId", "url", "expiresAt"}
    assert out["identity"] == str(w.pcmember.id) and out["roomId"] == str(w.voice.id) and out["url"] == DEV_WS
    c = claims(out["token"])
    assert c["sub"] == str(w.pcmember.id) and c["name"] == "Bobby"
    assert c["video"] == {"roomJoin": True, "room": str(w.voice.id), "canPublish": True, "canSubscribe": True,
                          "canPublishData": True, "canUpdateOwnMetadata": True, "roomCreate": False,
                          "roomList": False, "roomAdmin": False, "roomRecord": False}
    assert before + 3600 <= c["exp"] <= int(time.time()) + 3600  # default 1 h, not livekit-api's 6 h
    assert out["expiresAt"] == datetime.fromtimestamp(c["exp"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_name_and_ttl(voice_community, api_as):
    w = voice_community
    User.objects(id=w.member.id).update_one(unset__display_name=True)
    dependents.wrote(User, id=w.member.id)
    c = claims(token_for_room(api_as("member"), w.voice)["token"])
    assert c["name"] == "member"  # username when there is no display name
    c = claims(token_for_room(api_as("member"), w.voice, name="Caz", ttl=21600)["token"])
    assert c["name"] == "Caz" and 21590 <= c["exp"] - int(time.time()) <= 21600
    for ttl in (21601, 0, -5, "60", 1.5, True):
        response = api_as("member").post("/api/livekit/token", json={"roomId": str(w.voice.id), "ttl": ttl})
        assert response.status_code == 400, ttl
        assert response.get_json()["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize("principal, channel, expected", [
    ("pcmember", "private_voice", 201),
    ("admin", "voice", 201),
    ("member", "private_voice", 404),  # private voice channel of others
    ("outsider", "voice", 403),           # outsider
    (None, "voice", 401),             # anonymous
    ("pcmember", "text", 400),             # not a voice channel
    ("pcmember", "malformed", 400),
    ("pcmember", "missing", 404),
])
def test_token_route_answers_each_principal(voice_community, api_as, principal, channel, expected):
    room = {"malformed": "zz", "missing": "0123456789abcdef01234567"}.get(channel)
    room = room or str(getattr(voice_community, channel).id)
    response = api_as(principal).post("/api/livekit/token", json={"roomId": room})
    assert response.status_code == expected, response.get_json()
    if expected >= 400:
        assert "token" not in response.get_json()
        assert response.get_json()["statusCode"] == expected
    if channel == "text":
        assert response.get_json()["code"] == "NOT_A_VOICE_CHANNEL"


def test_livekit_lets_the_token_join_its_room_only(voice_community, api_as):
    w = voice_community
    out = token_for_room(api_as("pcmember"), w.private_voice, name="Bob")
    assert rtc_validate(out["token"]) == 200  # LiveKit's own check of a join token
    participant = Participant()
    try:
        participant.connect(DEV_WS, out["token"])
        assert participants(w.private_voice.id) == [str(w.pcmember.id)]   # a real participant, as the user
        assert participants(w.voice.id) == []                       # and nowhere else
        assert participant.room.name == str(w.private_voice.id)
        assert participant.room.local_participant.identity == str(w.pcmember.id)
    finally:
        participant.close()


def test_livekit_refuses_what_the_api_did_not_sign(voice_community, api_as):
    """Another secret, an expired token, a token without a join grant, and a participant
    token used for the server API: LiveKit itself says no."""
    import requests
    w = voice_community
    good = token_for_room(api_as("pcmember"), w.voice)["token"]
    now = int(time.time())
    forged = resigned(good, secret="x" * 32)
    expired = resigned(good, exp=now - 300, nbf=now - 4000)  # past LiveKit's leeway
    no_join = resigned(good, video={"room": str(w.voice.id), "roomJoin": False})
    for token in (forged, expired):
        assert rtc_validate(token) == 401
    assert rtc_validate(no_join) in (401, 403)
    # the token grants joining one room, not administering any
    for room in (str(w.voice.id), str(w.private_voice.id)):
        refused = requests.post("http://127.0.0.1:7880/twirp/livekit.RoomService/ListParticipants",
                                json={"room": room}, headers={"Authorization": f"Bearer {good}"}, timeout=5)
        assert refused.status_code == 401
    # and a real client cannot connect with the forged or expired one
    for token in (forged, expired):
        participant = Participant()
        try:
            with pytest.raises(rtc.ConnectError):
                participant.connect(DEV_WS, token)
        finally:
            participant.close()
    assert participants(w.voice.id) == []


def _metadata_of(room: object, identity: str) -> str | None:
    listed = server_api(lambda lk: lk.room.list_participants(api.ListParticipantsRequest(room=str(room))))
    return next((p.metadata for p in listed.participants if p.identity == identity), None)


def _publish_metadata(participant: Participant, metadata: str) -> None:
    async def go():
        await participant.room.local_participant.set_metadata(metadata)
    participant._run(go(), timeout=10)


def test_the_grant_lets_the_client_publish_its_deafen_state_as_metadata(voice_community, api_as):
    """canUpdateOwnMetadata (KLE §7.2): the client publishes `{"isDeafened": true}` on its participant,
    and LiveKit takes it from the app's token, not from a token without the grant."""
    w = voice_community
    out = token_for_room(api_as("pcmember"), w.voice)
    assert claims(out["token"])["video"]["canUpdateOwnMetadata"] is True
    without = resigned(out["token"], sub=str(w.member.id),
                       video={k: v for k, v in claims(out["token"])["video"].items() if k != "canUpdateOwnMetadata"})
    granted, refused = Participant(), Participant()
    try:
        granted.connect(DEV_WS, out["token"])
        refused.connect(DEV_WS, without)
        _publish_metadata(granted, json.dumps({"isDeafened": True}))
        try:
            _publish_metadata(refused, json.dumps({"isDeafened": True}))
        except Exception:  # noqa: BLE001 - LiveKit answers the request with an error, or never
            pass
        assert wait_for(lambda: _metadata_of(w.voice.id, str(w.pcmember.id)) == '{"isDeafened": true}', 10)
        time.sleep(0.5)
        assert _metadata_of(w.voice.id, str(w.member.id)) == ""
    finally:
        granted.close()
        refused.close()
