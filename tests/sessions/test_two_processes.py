"""A session revoked through one process closes its sockets on another at once; the user's other
sessions keep theirs (docs/decisions/0067-sessions.md: beyond the reference, which leaves them open)."""
import threading
import time

import requests

from tests.live import wait_for


def _login(server, user, agent):
    response = requests.post(server.url + "/api/auth/login", timeout=10, headers={"User-Agent": agent},
                             json={"username": user.username, "password": "correct horse battery"})
    assert response.status_code == 200, response.text
    return response.json()["accessToken"], response.cookies["refresh_token"]


def _watched(client):
    """The client, and an event set when the server closes its connection."""
    closed = threading.Event()
    client.sio.on("disconnect", lambda *_: closed.set())
    return closed


def _api(server, token, method, path):
    return requests.request(method, server.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_a_revocation_on_process_a_disconnects_that_sessions_socket_on_process_b(live, live_b, sockets, community):
    member = community.member
    laptop_token, laptop_cookie = _login(live, member, "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0")
    phone_token, _ = _login(live, member, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) Safari/604.1")
    tablet_token, _ = _login(live_b, member, "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) Safari/604.1")
    laptop_on_b = sockets(live_b.url, laptop_token)
    phone_on_b = sockets(live_b.url, phone_token)
    tablet_on_a = sockets(live.url, tablet_token)
    laptop_closed, phone_closed, tablet_closed = (_watched(c) for c in (laptop_on_b, phone_on_b, tablet_on_a))

    rows = _api(live, phone_token, "GET", "/api/auth/sessions").json()
    laptop = next(r["id"] for r in rows if r["deviceName"] == "Firefox on Linux")
    started = time.monotonic()
    assert _api(live, phone_token, "DELETE", f"/api/auth/sessions/{laptop}").status_code == 200  # on A
    assert laptop_closed.wait(10), "the revoked session's socket on process B stayed connected"
    print(f"\nrevocation on A -> socket on B closed in {(time.monotonic() - started) * 1000:.0f} ms")
    assert not laptop_on_b.connected
    # its refresh fails at once, on either process
    for server in (live, live_b):
        refused = requests.post(server.url + "/api/auth/refresh", cookies={"refresh_token": laptop_cookie}, timeout=10)
        assert refused.status_code == 401
    # the user's other sessions keep their sockets, wherever they are
    # (an acknowledged event on each: a wrongly closed socket cannot answer)
    assert phone_on_b.call("presenceOnline") == "ACK" and tablet_on_a.call("presenceOnline") == "ACK"
    assert not phone_closed.is_set() and not tablet_closed.is_set()

    # "revoke all others" from B closes every other session's socket on A and B, keeps the caller's
    assert _api(live_b, phone_token, "DELETE", "/api/auth/sessions").json()["revokedCount"] == 2  # the tablet and the Club's token
    assert tablet_closed.wait(10)
    assert phone_on_b.call("presenceOnline") == "ACK" and not phone_closed.is_set()
    assert wait_for(lambda: [r["isCurrent"] for r in _api(live, phone_token, "GET", "/api/auth/sessions").json()]
                    == [True])
