"""URL fields clients render (user avatarUrl, community avatar and banner) take one type
(kraken.common.urls): https, http only where configured, or /api/file/<id>; everything else is 400."""
from __future__ import annotations

import pytest
from pydantic import ValidationError as PydanticError

from kraken import create_app
from kraken.common.urls import safe_url
from kraken.communities.models import Community
from kraken.users.models import User
from kraken.users.schemas import ProfileUpdateIn
from tests.conftest import make_settings

FILE_ID = "64b7f0c2a1b2c3d4e5f60718"
ACCEPTED = [
    ("https://img.example/a.png", "https://img.example/a.png"),
    ("https://cdn.example.org:8443/u/1/avatar.webp?size=64#x", "https://cdn.example.org:8443/u/1/avatar.webp?size=64#x"),
    ("HTTPS://Img.Example/A.png", "https://Img.Example/A.png"),
    ("https://[2001:db8::1]/a.png", "https://[2001:db8::1]/a.png"),
    ("https://192.0.2.7/a%20b.png", "https://192.0.2.7/a%20b.png"),
    ("https://xn--bcher-kva.example/a", "https://xn--bcher-kva.example/a"),
    (f"/api/file/{FILE_ID}", f"/api/file/{FILE_ID}"),
    (f"/api/file/{FILE_ID.upper()}", f"/api/file/{FILE_ID}"),
]
REFUSED = [
    "javascript:alert(1)", "JavaScript:alert(1)", "JAVASCRIPT:alert(document.cookie)", "jAvAsCrIpT:alert(1)",
    " javascript:alert(1)", "\tjavascript:alert(1)", "java\tscript:alert(1)", "java\nscript:alert(1)",
    "java\x00script:alert(1)", "javascript&colon;alert(1)", "&#106;avascript:alert(1)", "javascript://%0aalert(1)",
    "data:text/html,<script>alert(1)</script>", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:image/svg+xml,<svg onload=alert(1)>", "data:image/png;base64,iVBORw0KGgo=", "vbscript:msgbox(1)",
    "VBScript:msgbox(1)", "file:///etc/passwd", "file://host/share", "ftp://example.org/a.png",
    "blob:https://example.org/uuid", "about:blank", "chrome://settings", "mailto:a@example.org",
    "//evil.example/a.png", "///evil.example/a.png", "/\\evil.example/a.png", "\\\\evil.example\\a.png",
    "https:evil.example", "https:/evil.example", "https://", "https:///path", "https://user:pass@evil.example/",
    "https://good.example@evil.example/", "https://evil.example:99999/", "https://evil.example:/",
    "https://exa mple.org/a.png", "https://example.org/a.png\" onerror=\"alert(1)", "https://example.org/<script>",
    "https://example.org/'onmouseover='x", "https://example.org/\u202ea.png", "https://ex\u00e4mple.org/",
    "https://example.org/\u200b", "https://-bad-.example/", "https://a..b/", "http://img.example/a.png",
    "HTTP://img.example/a.png", "/api/file/../../etc/passwd", f"/api/file/{FILE_ID}/metadata", "/api/file/xyz",
    f"/api/file/{FILE_ID}?x=1", "/api/users/profile", "a.png", "https://" + "a" * 2050 + ".example/",
]


@pytest.mark.parametrize("value, stored", ACCEPTED)
def test_https_and_our_file_paths_are_accepted_normalised(value, stored):
    assert safe_url(value) == stored


@pytest.mark.parametrize("value", REFUSED)
def test_every_other_url_is_refused(value):
    with pytest.raises(ValueError):
        safe_url(value)


@pytest.mark.parametrize("value", ["http://img.example/a.png", "HTTP://img.example:8080/a.png"])
def test_http_only_where_configured(value):
    with pytest.raises(ValueError):
        safe_url(value)
    assert safe_url(value, allow_http=True).startswith("http://")
    with pytest.raises(ValueError):
        safe_url("javascript:alert(1)", allow_http=True)


def test_the_type_reads_the_setting_from_the_validation_context():
    url = "http://img.example/a.png"
    with pytest.raises(PydanticError):
        ProfileUpdateIn.model_validate({"avatarUrl": url})
    assert ProfileUpdateIn.model_validate({"avatarUrl": url}, context={"allow_http_urls": True}).avatarUrl == url
    assert ProfileUpdateIn.model_validate({"avatarUrl": ""}).avatarUrl is None


# --- the routes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", REFUSED[::3])
def test_a_profile_refuses_script_urls_and_keeps_its_avatar(alice, login_as, value):
    api = login_as(alice)
    assert api.patch("/api/users/profile", json={"avatarUrl": "https://img.example/ok.png"}).status_code == 200
    response = api.patch("/api/users/profile", json={"avatarUrl": value})
    assert response.status_code == 400 and response.get_json()["code"] == "VALIDATION_FAILED"
    assert response.get_json()["message"][0].startswith("avatarUrl: ")
    assert User.objects(id=alice.id).first().avatar_url == "https://img.example/ok.png"


@pytest.mark.parametrize("field", ["avatar", "banner"])
@pytest.mark.parametrize("value", REFUSED[1::3])
def test_a_community_refuses_script_urls_on_create_and_update(alice, login_as, field, value):
    api = login_as(alice)
    created = api.post("/api/community", json={"name": "Club", field: value})
    assert created.status_code == 400 and created.get_json()["message"][0].startswith(f"{field}: ")
    assert Community.objects.count() == 0
    community = api.post("/api/community", json={"name": "Club", field: "https://img.example/c.png"}).get_json()
    assert community[field] == "https://img.example/c.png"
    response = api.patch(f"/api/community/{community['id']}", json={field: value})
    assert response.status_code == 400
    assert getattr(Community.objects(id=community["id"]).first(), field) == "https://img.example/c.png"


@pytest.mark.parametrize("value, stored", ACCEPTED)
def test_accepted_urls_are_stored_as_normalised_and_empty_clears(alice, login_as, value, stored):
    api = login_as(alice)
    community = api.post("/api/community", json={"name": "Club", "avatar": value, "banner": value})
    assert community.status_code == 201, community.get_json()
    assert (community.get_json()["avatar"], community.get_json()["banner"]) == (stored, stored)
    assert api.patch("/api/users/profile", json={"avatarUrl": value}).get_json()["avatarUrl"] == stored
    assert api.patch("/api/users/profile", json={"avatarUrl": ""}).get_json()["avatarUrl"] is None
    cleared = api.patch(f"/api/community/{community.get_json()['id']}", json={"avatar": None, "banner": ""})
    assert (cleared.get_json()["avatar"], cleared.get_json()["banner"]) == (None, None)


@pytest.fixture(scope="module")
def http_app(tmp_path_factory, app):
    return create_app(make_settings(data_dir=tmp_path_factory.mktemp("http-urls"), allow_http_urls=True))


def test_an_instance_that_allows_http_takes_http_avatars_and_still_refuses_scripts(http_app, app, alice, login_as):
    from tests.factories import ApiClient
    url = "http://img.example/a.png"
    assert login_as(alice).patch("/api/users/profile", json={"avatarUrl": url}).status_code == 400
    client = ApiClient(http_app.test_client())
    client.token = client.post("/api/auth/login", json={"username": "alice", "password": "correct horse battery"}
                               ).get_json()["accessToken"]
    assert client.patch("/api/users/profile", json={"avatarUrl": url}).get_json()["avatarUrl"] == url
    assert client.post("/api/community", json={"name": "Http", "banner": url}).get_json()["banner"] == url
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil.example/a.png"):
        assert client.patch("/api/users/profile", json={"avatarUrl": bad}).status_code == 400
