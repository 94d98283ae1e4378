"""Voice configuration: LiveKit's dev keys outside production, 503 without LiveKit, and health
reports that never let a LiveKit outage fail the instance."""
from __future__ import annotations

import pytest

from kraken.config import load_settings
from kraken.extensions import redis
from tests.live import free_port

SECRETS = {"JWT_SECRET": "j" * 40, "JWT_REFRESH_SECRET": "r" * 40, "MONGODB_URL": "mongodb://db:27017/k",
           "REDIS_URL": "redis://cache:6379/0"}


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_and_test_default_to_the_dev_livekit(env, tmp_path):
    settings = load_settings({"KRAKEN_ENV": env, "KRAKEN_DATA_DIR": str(tmp_path)})
    assert (settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret) == (
        "ws://127.0.0.1:7880", "devkey", "secret")
    assert settings.voice_enabled and settings.livekit_api_url == "ws://127.0.0.1:7880"
    assert settings.voice_presence_ttl == 90


def test_the_test_apps_settings_use_it_too(settings):
    assert settings.env == "test" and settings.voice_enabled and settings.livekit_api_key == "devkey"


def test_production_gets_no_livekit_default():
    settings = load_settings({"KRAKEN_ENV": "production", **SECRETS})
    assert settings.livekit_url is None and settings.livekit_api_key is None and not settings.voice_enabled


def test_explicit_livekit_settings_win_and_are_never_mixed_with_the_defaults(tmp_path):
    own = load_settings({"KRAKEN_DATA_DIR": str(tmp_path), "LIVEKIT_URL": "wss://lk.example", "LIVEKIT_API_KEY": "k",
                         "LIVEKIT_API_SECRET": "s" * 32, "LIVEKIT_INTERNAL_URL": "http://livekit:7880",
                         "KRAKEN_VOICE_PRESENCE_TTL": "30"})
    assert (own.livekit_url, own.livekit_api_key, own.livekit_api_url) == ("wss://lk.example", "k",
                                                                             "http://livekit:7880")
    assert own.voice_presence_ttl == 30
    partial = load_settings({"KRAKEN_DATA_DIR": str(tmp_path), "LIVEKIT_URL": "wss://lk.example"})
    assert partial.livekit_api_key is None and not partial.voice_enabled
    off = load_settings({"KRAKEN_DATA_DIR": str(tmp_path), "KRAKEN_VOICE": "off"})
    assert not off.voice_enabled


@pytest.fixture
def voice_settings(app):
    """voice_settings(**changes): this app's settings with changes, restored afterwards."""
    original = app.extensions["kraken.settings"]

    def _set(**changes):
        app.extensions["kraken.settings"] = original.model_copy(update=changes)
    yield _set
    app.extensions["kraken.settings"] = original


@pytest.mark.parametrize("how", [{"voice": "off"}, {"livekit_url": None, "livekit_api_key": None,
                                                     "livekit_api_secret": None}])
def test_without_livekit_voice_answers_503_never_500(voice_community, api_as, client, voice_settings, how):
    w = voice_community
    voice_settings(**how)
    pcmember = api_as("pcmember")
    token = pcmember.post("/api/livekit/token", json={"roomId": str(w.voice.id)})
    assert token.status_code == 503
    assert token.get_json() == {"statusCode": 503, "error": "Service Unavailable",
                                "message": "Voice is not configured on this instance", "code": "VOICE_NOT_CONFIGURED"}
    mute = api_as("admin").post(f"/api/livekit/channels/{w.voice.id}/mute-participant",
                                json={"userId": str(w.pcmember.id), "muted": True})
    assert mute.status_code == 503 and mute.get_json()["code"] == "VOICE_NOT_CONFIGURED"
    webhook = client.post("/api/livekit/webhook", data=b"{}", headers={"Authorization": "x"})
    assert webhook.status_code == 503 and webhook.get_json()["code"] == "VOICE_NOT_CONFIGURED"
    assert pcmember.get("/api/livekit/connection-info").get_json() == {}
    assert pcmember.get("/api/livekit/health").get_json() == {"status": "unhealthy", "configured": False}
    health = client.get("/api/health")
    assert health.status_code == 200 and health.get_json()["info"]["livekit"] == {"status": "disabled"}
    assert client.get("/api/instance/features").get_json()["voice"] is False
    # presence itself does not need LiveKit
    assert pcmember.post(f"/api/channels/{w.voice.id}/voice-presence/join").status_code == 201


def test_livekit_down_is_reported_without_failing_anything(voice_community, api_as, client, voice_settings):
    w = voice_community
    voice_settings(livekit_internal_url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    health = client.get("/api/health")
    assert health.status_code == 200  # only the database and Redis decide
    body = health.get_json()
    assert body["status"] == "ok" and body["info"]["livekit"] == {"status": "down"}
    assert body["info"]["database"] == {"status": "up"} and body["info"]["redis"] == {"status": "up"}
    assert api_as("pcmember").get("/api/livekit/health").get_json() == {"status": "unhealthy", "configured": True}
    # minting needs no LiveKit; muting does and says so with a 503
    assert api_as("pcmember").post("/api/livekit/token", json={"roomId": str(w.voice.id)}).status_code == 201
    mute = api_as("admin").post(f"/api/livekit/channels/{w.voice.id}/mute-participant",
                                json={"userId": str(w.pcmember.id), "muted": True})
    assert mute.status_code == 503 and mute.get_json()["code"] == "VOICE_UNAVAILABLE"
    # clean-ups that need LiveKit still succeed for the user; LiveKit's part is logged
    api_as("pcmember").post(f"/api/channels/{w.voice.id}/voice-presence/join")
    removed = api_as("admin").delete(f"/api/membership/community/{w.id}/user/{w.pcmember.id}")
    assert removed.status_code in (200, 204)
    assert redis.hlen(f"kraken:voice:channel:{w.voice.id}") == 0
    assert api_as("admin").delete(f"/api/channels/{w.voice.id}").status_code in (200, 204)
