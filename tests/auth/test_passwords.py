"""Password hashing parameters (docs/decisions/0007-argon2id-passwords.md)."""
from argon2 import extract_parameters

from kraken.config import Settings


def test_default_argon2id_parameters_meet_owasp_minimum(app):
    from kraken.auth.passwords import _hasher
    defaults = Settings.model_fields
    hashed = _hasher(defaults["argon2_memory_kib"].default, defaults["argon2_time_cost"].default).hash("pw")
    params = extract_parameters(hashed)
    assert hashed.startswith("$argon2id$")
    assert params.memory_cost >= 19456 and params.time_cost >= 2 and params.parallelism == 1


def test_stored_hash_is_argon2id_never_the_password(factory):
    user = factory.user("hashcheck", password="plain text pw")
    assert user.hashed_password.startswith("$argon2id$")
    assert "plain text pw" not in user.hashed_password
