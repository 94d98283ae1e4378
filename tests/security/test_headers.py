"""Every response says how browsers may use it (kraken.headers): nosniff, no referrer, never framed,
no caching of JSON; the docs page has a CSP that allows exactly its CDN script and its one inline
script, and keeps working."""
from __future__ import annotations

import base64
import hashlib
import re

from tests.files.conftest import PNG, upload
from tests.security.conftest import path_with_ids

REDOC = "https://cdn.jsdelivr.net/npm/redoc@2.5.0/bundles/redoc.standalone.js"


def assert_secure(response, where: str) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "no-referrer", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), where
    if response.mimetype == "application/json":
        assert headers.get("Cache-Control") == "no-store", where
    if response.mimetype != "text/html":
        assert headers["Content-Security-Policy"].startswith("default-src 'none'"), where


def test_every_route_answers_with_the_security_headers_whatever_the_status(app, community):
    community.seed_messages().freeze()
    client = app.test_client()
    statuses = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api"):
            continue
        for method in sorted(rule.methods - {"OPTIONS"}):
            path = path_with_ids(rule.rule, community.ids)
            for headers in ({"Authorization": f"Bearer {community.tokens['owner']}"}, {}):  # authenticated, anonymous
                response = client.open(path, method=method, headers=headers, json={} if method != "GET" else None)
                statuses.add(response.status_code)
                assert_secure(response, f"{method} {path} -> {response.status_code}")
            community.restore()
    for path, method, body in (("/api/nowhere", "GET", None), ("/api/health", "PUT", None),
                               ("/api/users/profile", "PATCH", "[" * 100)):
        response = client.open(path, method=method, data=body)
        statuses.add(response.status_code)
        assert_secure(response, path)
    assert {200, 201, 204, 400, 401, 403, 404, 405} <= statuses, statuses


def test_authenticated_json_is_not_stored_and_files_keep_their_own_caching(alice, login_as, app):
    api = login_as(alice)
    profile = api.get("/api/users/profile")
    assert profile.headers["Cache-Control"] == "no-store" and profile.get_json()["username"] == "alice"
    refresh = api.post("/api/auth/refresh")
    assert refresh.headers["Cache-Control"] == "no-store" and "accessToken" in refresh.get_json()
    file_id = upload(api, PNG, "me.png", "image/png", "USER_AVATAR").get_json()["id"]
    download = api.get(f"/api/file/{file_id}")
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Cache-Control"] == "private, max-age=3600"  # the file route's own
    assert_secure(download, "a file")


def test_the_docs_page_allows_exactly_its_cdn_script_and_its_inline_script(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_secure(response, "/api/docs")
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["connect-src"] == "'self'"  # Redoc fetches /api/openapi.json from here
    page = response.get_data(as_text=True)
    external = re.findall(r'<script src="([^"]+)"', page)
    inline = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert external == [REDOC] and len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert policy["script-src"].split() == [REDOC, f"'sha256-{digest}'"]
    assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in policy["script-src"]
    assert 'Redoc.init("/api/openapi.json"' in inline[0]
    # the page still lists every operation without any script at all
    assert "<code>/api/auth/login</code>" in page and 'href="/api/openapi.json"' in page
