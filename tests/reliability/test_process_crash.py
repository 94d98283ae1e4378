"""App process crash (reliability issue, item 4): kill -9 one of two processes behind the shipped nginx.

Its clients reconnect through nginx to the other process; the presence and voice presence of a user
who does not come back are corrected within the heartbeat window (presence TTL 6 s here); nothing
acknowledged is lost.
"""
import os
import signal
import time

import pymongo
import pytest

from tests.live import wait_for
from tests.ops.test_nginx_config import nginx_bin  # noqa: F401 - fixture
from tests.ops.test_topology import (DB_NAME, SOURCES, BoundSocketClient, api, app_log_users, backend_of, login,
                                     running_topology)


@pytest.fixture(scope="module")
def layout(nginx_bin, tmp_path_factory):  # noqa: F811
    with running_topology(nginx_bin, tmp_path_factory.mktemp("crash"), KRAKEN_PRESENCE_TTL="6") as topology:
        yield topology


def _kill(server) -> None:
    pid = server.proc.pid
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(x) for x in f.read().split()]
    except OSError:
        children = []
    for child in children + [pid]:
        os.kill(child, signal.SIGKILL)
    server.proc.wait(10)


def test_clients_of_a_killed_process_carry_on_through_the_other(layout):
    a, b = layout.servers
    routes = {source: backend_of(layout, source) for source in SOURCES}
    src_a = next(s for s, p in routes.items() if p == a.port)
    src_b = next(s for s, p in routes.items() if p == b.port)
    for name in ("bob", "dave"):
        status, _ = api(layout, "POST", "/api/users", src_b,
                        body={"username": name, "password": "correct horse battery", "code": layout.invite})
        assert status == 201
    alice_token, alice = login(layout, "alice", src_a)
    bob_token, bob = login(layout, "bob", src_b)
    dave_token, dave = login(layout, "dave", src_a)
    _, club = api(layout, "POST", "/api/community", src_a, alice_token, {"name": "Crashy"})
    for user in (bob, dave):
        assert api(layout, "POST", "/api/membership", src_a, alice_token,
                   {"userId": user["id"], "communityId": club["id"]})[0] == 201
    _, channels = api(layout, "GET", f"/api/channels/community/{club['id']}", src_a, alice_token)
    text = next(c for c in channels if c["type"] == "TEXT")
    voice = next(c for c in channels if c["type"] == "VOICE")

    alice_socket = BoundSocketClient(layout.url, alice_token, src_a).connect()
    dave_socket = BoundSocketClient(layout.url, dave_token, src_a).connect()
    bob_socket = BoundSocketClient(layout.url, bob_token, src_b).connect()
    clients = [alice_socket, dave_socket, bob_socket]
    try:
        for client in clients:
            client.emit("joinAll", club["id"])
        assert wait_for(lambda: {alice["id"], dave["id"]} <= app_log_users(a, "socket connected"), timeout=5)
        time.sleep(0.5)
        assert dave_socket.call("voice_channel_join", {"channelId": voice["id"]})["success"] is True
        assert bob_socket.wait_for("voiceChannelUserJoined", lambda p: p["user"]["id"] == dave["id"])
        acked = [alice_socket.call("sendMessage", {"channelId": text["id"],
                                                   "spans": [{"type": "PLAINTEXT", "text": f"before {i}"}]})
                 for i in range(20)]

        _kill(a)
        killed_at = time.monotonic()
        assert wait_for(lambda: not alice_socket.connected and not dave_socket.connected, timeout=10)

        # alice's client reconnects from the same address: nginx sends her to the surviving process
        alice_again = wait_for(lambda: _connect(layout.url, alice_token, src_a), timeout=15)
        assert alice_again is not None
        clients.append(alice_again)
        assert wait_for(lambda: alice["id"] in app_log_users(b, "socket connected"), timeout=5)
        alice_again.emit("joinAll", club["id"])
        time.sleep(0.5)
        after = alice_again.call("sendMessage", {"channelId": text["id"],
                                                 "spans": [{"type": "PLAINTEXT", "text": "after"}]})
        assert bob_socket.wait_for("newMessage", lambda p: p["message"]["id"] == after, timeout=10)

        # dave does not come back: offline, and out of the voice channel, within the heartbeat window
        assert bob_socket.wait_for("userOffline", lambda p: p["userId"] == dave["id"], timeout=25)
        assert bob_socket.wait_for("voiceChannelUserLeft", lambda p: p["userId"] == dave["id"], timeout=10)
        took = time.monotonic() - killed_at
        assert took < 25, took
        assert not bob_socket.received("userOffline", lambda p: p["userId"] == alice["id"])
        status, presence = api(layout, "GET", f"/api/channels/{voice['id']}/voice-presence", src_b, bob_token)
        assert status == 200 and dave["id"] not in [u["id"] for u in presence["users"]]

        stored = {str(i) for i in pymongo.MongoClient("mongodb://127.0.0.1:27017/")[DB_NAME]["messages"].distinct("_id")}
        assert set(acked) | {after} <= stored, "an acknowledged message was lost"
        print(f"\nprocess crash: reconnected through nginx; dave offline and out of voice after {took:.1f} s")
    finally:
        for client in clients:
            client.close()


def _connect(url: str, token: str, source: str):
    """A fresh client from `source` (like the browser's reconnect), or None while it is refused."""
    client = BoundSocketClient(url, token, source)
    try:
        return client.connect()
    except Exception:
        client.close()
        return None
