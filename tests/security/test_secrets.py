"""KRAKEN_ENV=production refuses LiveKit's development key and secret, secrets shorter than 32
characters and equal JWT secrets, naming each; `flask kraken check` names them too."""
from __future__ import annotations

import os
import re

import mongoengine
import pytest

from kraken.config import ConfigError, known_secret_problems, load_settings
from tests.ops.helpers import cli_env, kraken_cli

GOOD = {"KRAKEN_ENV": "production", "JWT_SECRET": "j" * 40, "JWT_REFRESH_SECRET": "r" * 40,
        "MONGODB_URL": "mongodb://db/kraken", "REDIS_HOST": "cache", "LIVEKIT_URL": "wss://voice.example",
        "LIVEKIT_API_KEY": "kraken", "LIVEKIT_API_SECRET": "s" * 64}


@pytest.mark.parametrize("changes, named", [
    ({"LIVEKIT_API_KEY": "devkey", "LIVEKIT_API_SECRET": "secret"},
     ["LIVEKIT_API_KEY is LiveKit's development key", "LIVEKIT_API_SECRET is LiveKit's development secret",
      "LIVEKIT_API_SECRET is shorter than 32"]),
    ({"LIVEKIT_API_SECRET": "secret"}, ["LIVEKIT_API_SECRET is LiveKit's development secret"]),
    ({"LIVEKIT_API_KEY": "devkey"}, ["LIVEKIT_API_KEY is LiveKit's development key"]),
    ({"LIVEKIT_API_SECRET": "s" * 31}, ["LIVEKIT_API_SECRET is shorter than 32 characters"]),
    ({"LIVEKIT_API_SECRET": "0123456789abcdef"}, ["LIVEKIT_API_SECRET is shorter than 32 characters"]),
    ({"JWT_REFRESH_SECRET": "j" * 40}, ["JWT_SECRET and JWT_REFRESH_SECRET are equal"]),
    ({"JWT_SECRET": "x" * 31}, ["JWT_SECRET"]),
    ({"JWT_REFRESH_SECRET": "short"}, ["JWT_REFRESH_SECRET"]),
    ({"JWT_SECRET": "k" * 50, "JWT_REFRESH_SECRET": "k" * 50, "LIVEKIT_API_SECRET": "secret"},
     ["JWT_SECRET and JWT_REFRESH_SECRET are equal", "LIVEKIT_API_SECRET is LiveKit's development secret"]),
])
def test_production_refuses_known_and_weak_secrets_by_name(changes, named):
    with pytest.raises(ConfigError) as err:
        load_settings({**GOOD, **changes})
    for text in named:
        assert text in str(err.value)


def test_production_with_real_secrets_starts_and_without_livekit_too():
    assert load_settings(GOOD).production
    without_voice = {k: v for k, v in GOOD.items() if not k.startswith("LIVEKIT")}
    settings = load_settings(without_voice)
    assert not settings.voice_enabled and known_secret_problems(settings) == []


def test_development_keeps_working_on_the_development_pair(tmp_path):
    settings = load_settings({"KRAKEN_DATA_DIR": str(tmp_path)})
    assert (settings.livekit_api_key, settings.livekit_api_secret) == ("devkey", "secret")
    assert "LIVEKIT_API_SECRET is LiveKit's development secret (secret)" in known_secret_problems(settings)


def _cli_env(tmp_path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "JWT_", "KRAKEN_", "REDIS_"))}
    return {**env, "KRAKEN_DATA_DIR": str(tmp_path), "KRAKEN_LOG_LEVEL": "WARNING", **values}


def test_check_in_production_names_each_refused_secret(tmp_path):
    env = _cli_env(tmp_path, **{**GOOD, "MONGODB_URL": "mongodb://127.0.0.1:1/none", "REDIS_URL": "redis://127.0.0.1:1/0",
                                "JWT_REFRESH_SECRET": GOOD["JWT_SECRET"], "LIVEKIT_API_KEY": "devkey",
                                "LIVEKIT_API_SECRET": "secret"})
    result = kraken_cli(env, "check")
    assert result.returncode == 2, result.stdout + result.stderr
    for text in ("production refuses known or weak secrets", "JWT_SECRET and JWT_REFRESH_SECRET are equal",
                 "LIVEKIT_API_KEY is LiveKit's development key", "LIVEKIT_API_SECRET is LiveKit's development secret",
                 "LIVEKIT_API_SECRET is shorter than 32 characters"):
        assert text in result.stderr, result.stderr


def test_check_outside_production_says_what_production_would_refuse(app, tmp_path):
    name = f"kraken_secrets_{os.getpid()}"
    try:
        output = kraken_cli(cli_env(tmp_path, f"mongodb://127.0.0.1:27017/{name}"), "check").stdout
    finally:
        mongoengine.get_connection().drop_database(name)
    state, detail = re.search(r"^(OK|FAIL)\s+secrets\s+(.*)$", output, re.M).groups()
    assert state == "OK" and detail.startswith("test values; production would refuse: ")
    assert "LIVEKIT_API_KEY is LiveKit's development key (devkey)" in detail
    assert "JWT_SECRET" not in detail  # the generated development secrets are long and different
