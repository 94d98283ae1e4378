"""Configuration: production refuses to start without real secrets; development generates them once."""
import json

import pytest

from kraken.config import ConfigError, load_settings


def test_production_without_secrets_names_what_is_missing(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings({"KRAKEN_ENV": "production", "KRAKEN_DATA_DIR": str(tmp_path)})
    message = str(err.value)
    for name in ("JWT_SECRET", "JWT_REFRESH_SECRET", "MONGODB_URL", "REDIS_URL, REDIS_HOST or REDIS_SENTINELS"):
        assert name in message
    assert not (tmp_path / "secrets.json").exists()


def test_production_rejects_short_secrets_by_name(tmp_path):
    env = {"KRAKEN_ENV": "production", "JWT_SECRET": "short", "JWT_REFRESH_SECRET": "x" * 40,
           "MONGODB_URL": "mongodb://db/kraken", "REDIS_HOST": "cache"}
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_settings(env)


def test_production_with_real_settings_builds_redis_url_from_parts():
    env = {"KRAKEN_ENV": "production", "JWT_SECRET": "a" * 40, "JWT_REFRESH_SECRET": "b" * 40,
           "MONGODB_URL": "mongodb://db/kraken", "REDIS_HOST": "cache", "REDIS_PORT": "6380",
           "REDIS_PASSWORD": "p@ss", "REDIS_DB": "2", "CORS_ORIGINS": "https://chat.example.org, https://x.org"}
    settings = load_settings(env)
    assert settings.redis_url == "redis://:p%40ss@cache:6380/2"
    assert settings.cors_origins == ("https://chat.example.org", "https://x.org")
    assert settings.production


def test_development_generates_secrets_once(tmp_path):
    first = load_settings({"KRAKEN_DATA_DIR": str(tmp_path)})
    second = load_settings({"KRAKEN_DATA_DIR": str(tmp_path)})
    assert first.jwt_secret == second.jwt_secret and len(first.jwt_secret) >= 32
    assert first.jwt_secret != first.jwt_refresh_secret
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored["jwt_secret"] == first.jwt_secret
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_invalid_feature_flag_is_reported_with_its_variable(tmp_path):
    with pytest.raises(ConfigError, match="KRAKEN_REGISTRATION"):
        load_settings({"KRAKEN_DATA_DIR": str(tmp_path), "KRAKEN_REGISTRATION": "sometimes"})
