"""Refresh rotation with a grace window and reuse detection; logout revokes
(docs/decisions/0008-sessions-and-refresh-token-families.md)."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from kraken.auth.models import RefreshFamily, RefreshToken
from kraken.auth.tokens import token_hash
from kraken.common.time import utcnow
from tests.factories import ApiClient


@pytest.fixture
def alice(factory):
    factory.owner()
    return factory.user("alice")


def refresh_with(app, cookie, origin=None):
    client = app.test_client()
    client.set_cookie("refresh_token", cookie)
    headers = {"Origin": origin} if origin else {}
    return client.post("/api/auth/refresh", headers=headers), client


def age_spent_token(app, cookie, seconds):
    h = token_hash(cookie, app.extensions["kraken.settings"].jwt_refresh_secret)
    RefreshToken.objects(token_hash=h).update_one(set__spent_at=utcnow() - timedelta(seconds=seconds))


def test_refresh_rotates_the_cookie(app, alice, login_as):
    api = login_as(alice)
    first = api.cookie()
    response = api.post("/api/auth/refresh")
    assert response.status_code == 200
    new_token = response.get_json()["accessToken"]
    second = api.cookie()
    assert second and second != first
    assert ApiClient(app.test_client(), new_token).get("/api/users/profile").status_code == 200
    assert "HttpOnly" in response.headers["Set-Cookie"]


def test_parallel_refreshes_within_the_grace_window_all_succeed(app, alice, login_as):
    cookie = login_as(alice).cookie()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: refresh_with(app, cookie)[0], range(8)))
    assert [r.status_code for r in results] == [200] * 8
    new_cookies = {r.headers["Set-Cookie"].split(";")[0] for r in results}
    assert len(new_cookies) == 8  # each caller gets its own fresh token
    assert RefreshFamily.objects.first().revoked_at is None


def test_reuse_after_the_grace_window_revokes_the_whole_family(app, alice, login_as):
    api = login_as(alice)
    stolen = api.cookie()
    assert api.post("/api/auth/refresh").status_code == 200  # the legitimate client rotates
    current = api.cookie()
    access = api.post("/api/auth/refresh").get_json()["accessToken"]
    age_spent_token(app, stolen, seconds=11)

    response, _ = refresh_with(app, stolen)
    assert response.status_code == 401
    assert RefreshFamily.objects.first().revoked_reason == "reuse"
    # every token of the family is dead now, refresh and access alike
    assert refresh_with(app, api.cookie())[0].status_code == 401
    assert refresh_with(app, current)[0].status_code == 401
    assert ApiClient(app.test_client(), access).get("/api/users/profile").status_code == 401


def test_a_spent_token_inside_the_window_still_rotates(app, alice, login_as):
    api = login_as(alice)
    cookie = api.cookie()
    assert api.post("/api/auth/refresh").status_code == 200
    age_spent_token(app, cookie, seconds=9)
    assert refresh_with(app, cookie)[0].status_code == 200


@pytest.mark.parametrize("cookie", [None, "", "garbage", "a" * 24 + ".bad", "a" * 24 + "." + "b" * 24 + ".bad", "x" * 500,
                                    "000000000000000000000000.token"])
def test_missing_or_invalid_refresh_cookie_is_401(app, alice, cookie):
    client = app.test_client()
    if cookie is not None:
        client.set_cookie("refresh_token", cookie)
    response = client.post("/api/auth/refresh")
    assert response.status_code == 401
    assert response.get_json()["statusCode"] == 401


def test_cross_site_origin_on_cookie_endpoints_is_403(app, alice, login_as):
    cookie = login_as(alice).cookie()
    response, _ = refresh_with(app, cookie, origin="https://evil.example")
    assert response.status_code == 403 and response.get_json()["code"] == "CROSS_SITE_REQUEST"
    assert refresh_with(app, cookie, origin="http://localhost:5173")[0].status_code == 200
    login = app.test_client().post("/api/auth/login", headers={"Origin": "https://evil.example"},
                                   json={"username": "alice", "password": "correct horse battery"})
    assert login.status_code == 403


def test_logout_kills_the_access_token_and_the_refresh_cookie(app, alice, login_as):
    api = login_as(alice)
    cookie = api.cookie()
    other = login_as(alice)  # another device keeps working
    response = api.post("/api/auth/logout")
    assert response.status_code == 201
    assert response.get_json() == {"message": "Logged out successfully"}
    assert "refresh_token=;" in response.headers["Set-Cookie"]
    assert api.get("/api/users/profile").status_code == 401
    assert refresh_with(app, cookie)[0].status_code == 401
    assert other.get("/api/users/profile").status_code == 200


def test_logout_without_anything_still_answers_201(client):
    assert client.post("/api/auth/logout").status_code == 201


def test_logout_with_only_the_cookie_revokes_that_session(app, alice, login_as):
    api = login_as(alice)
    client = app.test_client()
    client.set_cookie("refresh_token", api.cookie())
    assert client.post("/api/auth/logout").status_code == 201
    assert api.get("/api/users/profile").status_code == 401  # its access token named that session
