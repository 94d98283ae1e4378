"""A ban on process A closes the banned user's sockets on process B within a second (decision 0063)."""
from __future__ import annotations

import time

import requests


def test_a_ban_on_one_process_disconnects_the_socket_on_another(live, live_b, sockets, factory):
    root = factory.owner("root")
    alice = factory.user("alice")
    on_b = sockets(live_b.url, factory.token(alice))
    on_b_too = sockets(live_b.url, factory.token(alice))  # a second session, and a second socket
    assert on_b.connected and on_b_too.connected
    response = requests.patch(f"{live.url}/api/users/admin/{alice.id}/ban", json={"banned": True},
                              headers={"Authorization": f"Bearer {factory.token(root)}"}, timeout=10)
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 1.0
    while (on_b.connected or on_b_too.connected) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not on_b.connected and not on_b_too.connected
    # and it cannot come back
    again = sockets(live_b.url, factory.token(alice), connect=False)
    try:
        again.connect()
    except Exception:
        pass
    assert not again.connected
