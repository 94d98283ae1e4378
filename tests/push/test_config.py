"""Push configuration: a VAPID pair comes whole; production never accepts insecure push endpoints."""
import pytest

from kraken.config import ConfigError, load_settings
from kraken.push import keys


def test_the_vapid_variables_are_read(tmp_path):
    public, private = keys.generate()
    settings = load_settings({"KRAKEN_DATA_DIR": str(tmp_path), "VAPID_PUBLIC_KEY": public,
                              "VAPID_PRIVATE_KEY": private, "VAPID_SUBJECT": "mailto:ops@example.com"})
    assert (settings.vapid_public_key, settings.vapid_private_key, settings.vapid_subject) == (
        public, private, "mailto:ops@example.com")
    assert load_settings({"KRAKEN_DATA_DIR": str(tmp_path)}).vapid_subject == "mailto:admin@localhost"


@pytest.mark.parametrize("environ, problem", [
    ({"VAPID_PUBLIC_KEY": keys.generate()[0]}, "go together"),
    ({"VAPID_PRIVATE_KEY": keys.generate()[1]}, "go together"),
    ({"VAPID_PUBLIC_KEY": "short", "VAPID_PRIVATE_KEY": keys.generate()[1]}, "VAPID_PUBLIC_KEY"),
    ({"VAPID_SUBJECT": "admin"}, "VAPID_SUBJECT"),
    ({"KRAKEN_PUSH": "maybe"}, "KRAKEN_PUSH"),
])
def test_a_bad_vapid_setting_stops_the_start(tmp_path, environ, problem):
    with pytest.raises(ConfigError, match=problem):
        load_settings({"KRAKEN_DATA_DIR": str(tmp_path), **environ})


def test_production_refuses_insecure_push_endpoints():
    environ = {"KRAKEN_ENV": "production", "JWT_SECRET": "j" * 40, "JWT_REFRESH_SECRET": "r" * 40,
               "MONGODB_URL": "mongodb://db/kraken", "REDIS_URL": "redis://cache/0",
               "LIVEKIT_API_KEY": "key", "LIVEKIT_API_SECRET": "s" * 40}
    assert load_settings(environ).push_insecure_endpoints is False
    with pytest.raises(ConfigError, match="KRAKEN_PUSH_INSECURE_ENDPOINTS"):
        load_settings({**environ, "KRAKEN_PUSH_INSECURE_ENDPOINTS": "true"})


def test_is_pair_tells_a_pair_from_two_keys():
    public, private = keys.generate()
    assert keys.is_pair(public, private)
    assert not keys.is_pair(keys.generate()[0], private)
    assert not keys.is_pair(public, "not-a-key")
