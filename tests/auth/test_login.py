"""Login: same answer for every failure, typed input only, cookie flags
(docs/decisions/0008-sessions-and-refresh-token-families.md)."""
import pytest

from kraken.users import service as users


@pytest.fixture
def alice(factory):
    factory.owner()
    return factory.user("alice")


def test_login_returns_access_token_and_refresh_cookie(client, alice, app):
    response = client.post("/api/auth/login", json={"username": "Alice", "password": "correct horse battery"})
    assert response.status_code == 200
    token = response.get_json()["accessToken"]
    from flask_jwt_extended import decode_token
    claims = decode_token(token)
    assert claims["sub"] == str(alice.id) and claims["username"] == "alice" and claims["role"] == "USER"
    assert claims["type"] == "access" and claims["jti"] and claims["sid"]
    assert claims["exp"] - claims["iat"] == 3600
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("refresh_token=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Max-Age=2592000" in cookie
    assert "Secure" not in cookie  # only in production


def test_wrong_password_and_unknown_user_get_the_same_401(client, alice):
    wrong = client.post("/api/auth/login", json={"username": "alice", "password": "wrong password"})
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert "Set-Cookie" not in wrong.headers


@pytest.mark.parametrize("body", [
    {"username": {"$ne": None}, "password": {"$ne": None}},
    {"username": {"$gt": ""}, "password": "x"},
    {"username": "alice", "password": {"$ne": None}},
    {"username": ["alice"], "password": "x"},
    {"username": 1, "password": "x"},
    {},
])
def test_operator_and_wrongly_typed_logins_are_400(client, alice, body):
    response = client.post("/api/auth/login", json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "VALIDATION_FAILED"
    assert "Set-Cookie" not in response.headers


def test_disabled_user_cannot_log_in_and_their_token_dies(client, alice, login_as):
    api = login_as(alice)
    assert api.get("/api/users/profile").status_code == 200
    users.set_disabled(str(alice.id), True)
    assert api.get("/api/users/profile").status_code == 401
    response = client.post("/api/auth/login", json={"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 401


def test_requests_without_or_with_bad_tokens_are_401(client, alice):
    assert client.get("/api/users/profile").status_code == 401
    bad = client.get("/api/users/profile", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401
    assert bad.get_json() == {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized",
                              "code": "UNAUTHORIZED"}


def test_token_signed_with_another_secret_is_401(client, alice):
    import jwt as pyjwt
    forged = pyjwt.encode({"sub": str(alice.id), "type": "access", "jti": "x", "exp": 9999999999},
                          "another-secret-that-is-long-enough-123", algorithm="HS256")
    assert client.get("/api/users/profile", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_expired_token_is_401(client, alice, app):
    from datetime import timedelta
    from flask_jwt_extended import create_access_token
    expired = create_access_token(identity=str(alice.id), expires_delta=timedelta(seconds=-5),
                                  additional_claims={"sid": None})
    assert client.get("/api/users/profile", headers={"Authorization": f"Bearer {expired}"}).status_code == 401


def test_a_token_verified_before_still_expires_and_a_changed_one_is_checked_again(client, alice, app):
    """Verified tokens are remembered per process (kraken.extensions.VerifiedTokenCache), never past exp."""
    import time
    from datetime import timedelta
    from flask_jwt_extended import create_access_token
    short = create_access_token(identity=str(alice.id), expires_delta=timedelta(seconds=2),
                                additional_claims={"sid": None})
    headers = {"Authorization": f"Bearer {short}"}
    assert client.get("/api/users/profile", headers=headers).status_code == 200
    assert client.get("/api/users/profile", headers=headers).status_code == 200  # from the cache
    head, payload, signature = short.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    tampered = {"Authorization": f"Bearer {head}.{payload}.{flipped}"}
    assert client.get("/api/users/profile", headers=tampered).status_code == 401
    time.sleep(2.2)
    assert client.get("/api/users/profile", headers=headers).status_code == 401
