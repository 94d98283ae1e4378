"""The sessions page (HF §11, docs/decisions/0067-sessions.md): a user's live refresh families, listed
with device names and which one is current; revoking one or all others ends their refresh and their
access tokens at once."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from kraken.auth.devices import device_name
from kraken.auth.models import RefreshFamily
from kraken.common.time import utcnow
from tests.factories import ApiClient

CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Safari/537.36")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


def login(app, user, user_agent=None, ip="203.0.113.7") -> ApiClient:
    api = ApiClient(app.test_client())
    headers = {"User-Agent": user_agent} if user_agent else {}
    response = api.client.post("/api/auth/login", json={"username": user.username, "password": "correct horse battery"},
                               headers=headers, environ_base={"REMOTE_ADDR": ip})
    assert response.status_code == 200, response.get_json()
    api.token = response.get_json()["accessToken"]
    return api


def sessions(api) -> list[dict]:
    response = api.get("/api/auth/sessions")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("ua, name", [
    (CHROME_WINDOWS, "Chrome on Windows"),
    (FIREFOX_LINUX, "Firefox on Linux"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
     "Safari/605.1.15", "Safari on macOS"),
    (CHROME_WINDOWS + " Edg/120.0.0.0", "Edge on Windows"),
    (CHROME_WINDOWS + " OPR/106.0.0.0", "Opera on Windows"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36", "Chrome on Chrome OS"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.2 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
    ("Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15", "Safari on iPad"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile "
     "Safari/537.36", "Chrome on Android"),
    ("Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0", "Firefox on Android"),
    ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 SamsungBrowser/23.0", "Browser on Android"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) SemaphoreChat/1.0.0 "
     "Chrome/120.0.0.0 Electron/28.0.0 Safari/537.36", "Semaphore Chat Desktop (Windows)"),
    ("curl/8.5.0", "Browser"),
    ("", "Unknown Device"),
    (None, "Unknown Device"),
])
def test_device_names_follow_the_user_agent(ua, name):
    assert device_name(ua) == name


def test_the_list_shows_every_live_session_with_the_current_one_marked(app, alice, bob):
    laptop = login(app, alice, CHROME_WINDOWS, ip="198.51.100.1")
    phone = login(app, alice, FIREFOX_LINUX, ip="198.51.100.2")
    login(app, bob)  # someone else's session is never listed
    # used last, from elsewhere: listed first, with the address it was last used from
    assert phone.post("/api/auth/refresh", environ_base={"REMOTE_ADDR": "198.51.100.3"}).status_code == 200

    rows = sessions(laptop)
    assert [r["deviceName"] for r in rows] == ["Firefox on Linux", "Chrome on Windows"]
    assert [r["isCurrent"] for r in rows] == [False, True]
    assert [r["ipAddress"] for r in rows] == ["198.51.100.3", "198.51.100.1"]
    assert set(rows[0]) == {"id", "deviceName", "ipAddress", "createdAt", "lastUsedAt", "expiresAt", "isCurrent"}
    assert rows[0]["lastUsedAt"] > rows[0]["createdAt"] and rows[1]["lastUsedAt"] == rows[1]["createdAt"]
    assert rows[0]["expiresAt"] > rows[0]["lastUsedAt"]
    # the session id stays the same across refreshes (it is the family, not the rotating token)
    assert {r["id"] for r in rows} == {str(f.id) for f in RefreshFamily.objects(user_id=alice.id)}
    assert [r["isCurrent"] for r in sessions(phone)] == [True, False]


def test_without_a_cookie_the_access_token_names_the_current_session(app, alice):
    api = login(app, alice)
    bearer_only = ApiClient(app.test_client(), api.token)  # a desktop client keeps its refresh token itself
    assert [r["isCurrent"] for r in sessions(bearer_only)] == [True]


def test_revoked_and_expired_sessions_are_not_listed(app, alice):
    api = login(app, alice)
    gone, old = login(app, alice), login(app, alice)
    assert api.delete(f"/api/auth/sessions/{_current(gone)}").status_code == 200
    RefreshFamily.objects(id=_current(old)).update_one(set__expires_at=utcnow() - timedelta(seconds=1))
    assert [r["id"] for r in sessions(api)] == [_current(api)]


def _current(api) -> str:
    return next(r["id"] for r in sessions(api) if r["isCurrent"])


def test_revoking_a_session_ends_its_refresh_and_its_access_tokens_at_once(app, alice):
    api, other = login(app, alice), login(app, alice)
    victim = _current(other)
    response = api.delete(f"/api/auth/sessions/{victim}")
    assert response.status_code == 200 and response.get_json() == {"message": "Session revoked successfully"}
    assert other.get("/api/users/profile").status_code == 401
    refused = other.post("/api/auth/refresh")
    assert refused.status_code == 401 and refused.get_json()["code"] == "UNAUTHORIZED"
    assert api.get("/api/users/profile").status_code == 200  # the caller's own session is untouched
    assert RefreshFamily.objects(id=victim).first().revoked_reason == "revoked"


def test_the_current_session_may_revoke_itself(app, alice):
    api = login(app, alice)
    assert api.delete(f"/api/auth/sessions/{_current(api)}").status_code == 200
    assert api.get("/api/auth/sessions").status_code == 401
    assert api.post("/api/auth/refresh").status_code == 401


@pytest.mark.parametrize("whose", ["another user's", "unknown", "revoked"])
def test_revoking_what_is_not_a_live_session_of_yours_is_404_and_changes_nothing(app, alice, bob, whose):
    api, bobs = login(app, alice), login(app, bob)
    target = {"another user's": _current(bobs), "unknown": "65a000000000000000000000"}.get(whose)
    if whose == "revoked":
        target = _current(login(app, alice))
        assert api.delete(f"/api/auth/sessions/{target}").status_code == 200
    before = sorted((str(f.id), f.revoked_at) for f in RefreshFamily.objects)
    response = api.delete(f"/api/auth/sessions/{target}")
    assert response.status_code == 404
    assert response.get_json()["message"] == "Session not found"
    assert sorted((str(f.id), f.revoked_at) for f in RefreshFamily.objects) == before
    assert bobs.get("/api/users/profile").status_code == 200


def test_a_malformed_session_id_is_400(app, alice):
    response = login(app, alice).delete("/api/auth/sessions/not-an-id")
    assert response.status_code == 400 and response.get_json()["statusCode"] == 400


def test_revoke_all_others_keeps_only_the_current_session(app, alice, bob):
    api = login(app, alice)
    others = [login(app, alice) for _ in range(3)]
    bobs = login(app, bob)
    response = api.delete("/api/auth/sessions")
    assert response.status_code == 200
    assert response.get_json() == {"message": "Revoked 3 sessions", "revokedCount": 3}
    assert [r["isCurrent"] for r in sessions(api)] == [True]
    assert all(o.get("/api/users/profile").status_code == 401 for o in others)
    assert all(o.post("/api/auth/refresh").status_code == 401 for o in others)
    assert bobs.get("/api/users/profile").status_code == 200
    login(app, alice)
    assert api.delete("/api/auth/sessions").get_json() == {"message": "Revoked 1 session", "revokedCount": 1}
    assert api.delete("/api/auth/sessions").get_json() == {"message": "Revoked 0 sessions", "revokedCount": 0}


def test_revoke_all_others_with_a_bearer_only_client_keeps_the_tokens_session(app, alice):
    api, other = login(app, alice), login(app, alice)
    bearer_only = ApiClient(app.test_client(), api.token)
    assert bearer_only.delete("/api/auth/sessions").get_json()["revokedCount"] == 1
    assert other.get("/api/users/profile").status_code == 401 and api.get("/api/users/profile").status_code == 200


def test_revoke_all_others_without_a_known_current_session_is_401_and_revokes_nothing(app, alice):
    from flask_jwt_extended import create_access_token
    login(app, alice)
    with app.app_context():  # a token naming no session (none are issued so: only a forged-by-us one)
        token = create_access_token(identity=str(alice.id), additional_claims={"username": "alice", "role": "USER"})
    response = ApiClient(app.test_client(), token).delete("/api/auth/sessions")
    assert response.status_code == 401
    assert response.get_json()["message"] == "Could not determine current session"
    assert RefreshFamily.objects(revoked_at__ne=None).count() == 0


def test_a_refresh_cookie_of_another_user_does_not_make_their_session_current(app, alice, bob):
    api, bobs = login(app, alice), login(app, bob)
    api.client.set_cookie("refresh_token", bobs.cookie())
    assert [r["isCurrent"] for r in sessions(api)] == [True]  # alice's, from her access token
    assert api.delete("/api/auth/sessions").get_json()["revokedCount"] == 0
    assert bobs.get("/api/users/profile").status_code == 200


def test_two_concurrent_revocations_of_one_session_revoke_it_once(app, alice):
    api, other = login(app, alice), login(app, alice)
    victim = _current(other)
    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(lambda _: ApiClient(app.test_client(), api.token)
                                .delete(f"/api/auth/sessions/{victim}").status_code, range(2)))
    assert codes == [200, 404]


def test_a_revocation_racing_a_refresh_leaves_no_usable_token(app, alice):
    api, other = login(app, alice), login(app, alice)
    victim = _current(other)
    with ThreadPoolExecutor(2) as pool:
        revoked = pool.submit(lambda: api.delete(f"/api/auth/sessions/{victim}"))
        refreshed = pool.submit(lambda: other.post("/api/auth/refresh"))
        assert revoked.result().status_code == 200
        answer = refreshed.result()
    if answer.status_code == 200:  # refreshed before the revocation: that new token is dead too
        fresh = ApiClient(app.test_client(), answer.get_json()["accessToken"])
        assert fresh.get("/api/users/profile").status_code == 401
    assert other.post("/api/auth/refresh").status_code == 401


def test_sessions_need_authentication(client):
    assert client.get("/api/auth/sessions").status_code == 401
    assert client.delete("/api/auth/sessions").status_code == 401
    assert client.delete("/api/auth/sessions/65a000000000000000000000").status_code == 401
