"""Cross-site requests to the endpoints the refresh cookie authenticates (login, refresh, logout) are
refused by Fetch Metadata, then Origin, then Referer; same-origin pages, configured origins and
clients that send none of these (the CLI, curl) keep working. A refused request changes nothing."""
from __future__ import annotations

import pytest

from kraken.auth.csrf import is_cross_site
from kraken.auth.models import RefreshFamily

OWN = "http://localhost"  # the test client's host
CONFIGURED = "http://localhost:5173"  # CORS_ORIGINS in tests (the development default)
ALLOWED = (CONFIGURED, "http://127.0.0.1:5173")

# (headers, refused?)
CASES = [
    ({"Sec-Fetch-Site": "cross-site"}, True),
    ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, True),
    ({"Sec-Fetch-Site": "cross-site", "Origin": CONFIGURED}, True),  # the cookie never flows cross-site
    ({"Sec-Fetch-Site": "cross-site", "Referer": f"{OWN}/app"}, True),
    ({"Sec-Fetch-Site": "CROSS-SITE"}, True),
    ({"Sec-Fetch-Site": "same-site", "Origin": "http://evil.localhost"}, True),
    ({"Sec-Fetch-Site": "same-site"}, True),  # same-site from where? not configured
    ({"Sec-Fetch-Site": "same-site", "Referer": "http://blog.localhost/post"}, True),
    ({"Sec-Fetch-Site": "same-site", "Origin": CONFIGURED}, False),
    ({"Sec-Fetch-Site": "same-site", "Referer": f"{CONFIGURED}/channels/1"}, False),
    ({"Sec-Fetch-Site": "same-origin"}, False),
    ({"Sec-Fetch-Site": "same-origin", "Origin": OWN}, False),
    ({"Sec-Fetch-Site": "none"}, False),
    ({"Origin": "https://evil.example"}, True),
    ({"Origin": "null"}, True),
    ({"Origin": "http://localhost.evil.example"}, True),
    ({"Referer": "https://evil.example/page"}, True),
    ({"Referer": "https://evil.example/?next=http://localhost/"}, True),
    ({"Referer": "not a url"}, True),
    ({"Origin": CONFIGURED}, False),
    ({"Origin": OWN}, False),
    ({"Origin": OWN + "/"}, False),
    ({"Referer": f"{OWN}/login"}, False),
    ({"Referer": f"{CONFIGURED}/"}, False),
    ({}, False),  # curl, the CLI, a native client
]


@pytest.mark.parametrize("headers, refused", CASES)
def test_fetch_metadata_then_origin_then_referer(headers, refused):
    assert is_cross_site(headers, OWN + "/", ALLOWED) is refused


def _cookie_client(app, login_as, alice):
    api = login_as(alice)
    return api, api.cookie()


@pytest.mark.parametrize("headers, refused", CASES)
def test_refresh_follows_the_table_and_a_refused_one_rotates_nothing(app, alice, login_as, headers, refused):
    api, cookie = _cookie_client(app, login_as, alice)
    response = api.client.post("/api/auth/refresh", headers=headers)
    if refused:
        assert response.status_code == 403 and response.get_json()["code"] == "CROSS_SITE_REQUEST"
        assert api.cookie() == cookie, "the cookie was not rotated"
        assert api.client.post("/api/auth/refresh").status_code == 200, "the session still works"
    else:
        assert response.status_code == 200 and api.cookie() != cookie


@pytest.mark.parametrize("headers, refused", CASES[::2])
def test_logout_follows_the_table_and_a_refused_one_revokes_nothing(app, alice, login_as, headers, refused):
    api, _ = _cookie_client(app, login_as, alice)
    response = api.client.post("/api/auth/logout", headers=headers)
    family = RefreshFamily.objects.first()
    if refused:
        assert response.status_code == 403 and family.revoked_at is None
    else:
        assert response.status_code == 201 and family.revoked_at is not None


@pytest.mark.parametrize("headers, refused", CASES[1::2])
def test_login_follows_the_table(app, alice, headers, refused):
    client = app.test_client()
    response = client.post("/api/auth/login", headers=headers,
                           json={"username": "alice", "password": "correct horse battery"})
    assert response.status_code == (403 if refused else 200)
    assert (client.get_cookie("refresh_token") is None) is refused
