"""Presence across sockets and processes (docs/decisions/0015-presence.md)."""
import os
import signal
import time
from contextlib import contextmanager

import pytest

from kraken.users.models import User
from tests.factories import ApiClient
from tests.live import LiveServer, wait_for
from tests.realtime.conftest import live_env


def online_events(client, user_id, event):
    return client.received(event, lambda p: p["userId"] == str(user_id))


@contextmanager
def on_a_second_server(live, settings, tmp_path_factory, sockets, community, name="member", **env):
    """(second server, admin watching presence on `live`, `name`'s socket on the second server), once
    admin has seen them come online; the second server is stopped afterwards."""
    second = LiveServer(live_env(settings, tmp_path_factory, **env),
                        tmp_path_factory.mktemp("logs") / "second.log").start()
    try:
        watcher = sockets(live.url, community.tokens["admin"])
        watcher.emit("joinAll", str(community.id))
        time.sleep(0.3)
        user = sockets(second.url, community.tokens[name])
        assert watcher.wait_for("userOnline", lambda p: p["userId"] == str(getattr(community, name).id))
        yield second, watcher, user
    finally:
        second.stop()


def test_one_online_for_two_sockets_and_offline_after_the_last(live, sockets, community, login_as):
    watcher = sockets(live.url, community.tokens["admin"])
    watcher.emit("joinAll", str(community.id))
    time.sleep(0.3)
    first = sockets(live.url, community.tokens["pcmember"])
    second = sockets(live.url, community.tokens["pcmember"])
    assert watcher.wait_for("userOnline", lambda p: p["userId"] == str(community.pcmember.id))
    time.sleep(0.5)
    assert len(online_events(watcher, community.pcmember.id, "userOnline")) == 1
    online = watcher.wait_for("userOnline", lambda p: p["userId"] == str(community.pcmember.id))
    assert online["username"] == "pcmember"
    api = login_as(community.admin)
    assert api.get(f"/api/presence/user/{community.pcmember.id}").get_json() == {"userId": str(community.pcmember.id), "isOnline": True}

    first.close()
    time.sleep(0.5)
    assert not online_events(watcher, community.pcmember.id, "userOffline")
    assert api.get(f"/api/presence/user/{community.pcmember.id}").get_json()["isOnline"] is True

    second.close()
    assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(community.pcmember.id))
    assert api.get(f"/api/presence/users/{community.pcmember.id},{community.member.id}").get_json() == {
        "presence": {str(community.pcmember.id): False, str(community.member.id): False}}
    assert User.objects(id=community.pcmember.id).first().last_seen is not None
    assert api.get("/api/presence/users/nope").status_code == 400


def test_outsiders_do_not_hear_about_presence(live, sockets, community):
    outsider = sockets(live.url, community.tokens["outsider"])
    outsider.emit("joinAll", str(community.elsewhere.id))
    time.sleep(0.3)
    sockets(live.url, community.tokens["pcmember"])
    time.sleep(0.8)
    assert not outsider.received("userOnline", lambda p: p["userId"] == str(community.pcmember.id))


def test_a_killed_process_s_sockets_go_offline_within_the_heartbeat_window(live, settings, tmp_path_factory,
                                                                            sockets, community):
    with on_a_second_server(live, settings, tmp_path_factory, sockets, community) as (doomed, watcher, _):
        for child in _children(doomed.proc.pid) + [doomed.proc.pid]:
            os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()
        # presence TTL is 6 s for these servers: expiry plus one sweep of the surviving process
        assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(community.member.id), timeout=25)
        assert time.monotonic() - killed_at < 20  # TTL 6 s + one 2 s sweep, with room for a loaded machine


def test_a_reconnection_within_the_grace_announces_nothing(live, settings, tmp_path_factory, sockets, community,
                                                           login_as):
    with on_a_second_server(live, settings, tmp_path_factory, sockets, community, name="pcmember",
                            KRAKEN_PRESENCE_GRACE="2") as (graceful, watcher, pcmember):
        api = login_as(community.admin)
        for _ in range(3):  # blips: the socket closes and a new one comes within the grace
            pcmember.close()
            time.sleep(0.5)
            assert api.get(f"/api/presence/user/{community.pcmember.id}").get_json()["isOnline"] is True
            pcmember = sockets(graceful.url, community.tokens["pcmember"])
        time.sleep(2.5)  # past the grace
        assert not online_events(watcher, community.pcmember.id, "userOffline")
        assert len(online_events(watcher, community.pcmember.id, "userOnline")) == 1

        pcmember.close()
        closed = time.monotonic()
        assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(community.pcmember.id), timeout=6)
        assert 1.5 < time.monotonic() - closed < 5  # the grace (2 s) plus one settle step
        assert api.get(f"/api/presence/user/{community.pcmember.id}").get_json()["isOnline"] is False
        time.sleep(1)
        assert len(online_events(watcher, community.pcmember.id, "userOffline")) == 1


def test_sigterm_closes_the_process_s_sockets_at_once_and_they_go_offline(live, settings, tmp_path_factory,
                                                                         sockets, community):
    """gunicorn would wait its 20 s graceful timeout for open WebSockets: the worker closes them instead,
    so clients reconnect elsewhere at once, the process exits, and presence follows without the TTL."""
    with on_a_second_server(live, settings, tmp_path_factory, sockets, community,
                                  KRAKEN_PRESENCE_TTL="30") as (stopping, watcher, member):
        stopping.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert wait_for(lambda: not member.connected, timeout=5), "the server closed the socket"
        assert stopping.proc.wait(timeout=10) == 0
        assert time.monotonic() - signalled < 10  # not graceful_timeout (20 s)
        # offline through the socket's own disconnect, not the 30 s presence TTL
        assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(community.member.id), timeout=5)


def test_sockets_closed_for_a_sigterm_get_a_longer_grace(live, settings, tmp_path_factory, sockets, community):
    """A restart reconnects every client at once: their users stay online for 3x the grace, not 1x."""
    with on_a_second_server(live, settings, tmp_path_factory, sockets, community,
                                  KRAKEN_PRESENCE_GRACE="1") as (stopping, watcher, member):
        stopping.proc.send_signal(signal.SIGTERM)
        assert wait_for(lambda: not member.connected, timeout=5)
        closed = time.monotonic()
        time.sleep(2)  # past the ordinary 1 s grace and a settle step
        assert not online_events(watcher, community.member.id, "userOffline")
        assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(community.member.id), timeout=5)
        assert time.monotonic() - closed > 2.4


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def test_bulk_lists_every_online_user_and_is_not_taken_for_an_id_list(app, live, sockets, community, login_as):
    """`GET /api/presence/users/bulk` (KLE §5) is its own route, not `/users/<ids>` with ids "bulk"."""
    api = login_as(community.admin)
    assert api.get("/api/presence/users/bulk").get_json() == {"presence": {}}
    watcher = sockets(live.url, community.tokens["admin"])
    watcher.emit("joinAll", str(community.id))
    time.sleep(0.3)
    sockets(live.url, community.tokens["pcmember"])
    sockets(live.url, community.tokens["outsider"])  # online too, in no community of the caller's
    assert watcher.wait_for("userOnline", lambda p: p["userId"] == str(community.pcmember.id))
    expected = {str(u.id): True for u in (community.admin, community.pcmember, community.outsider)}
    assert wait_for(lambda: api.get("/api/presence/users/bulk").get_json() == {"presence": expected}, 5), \
        api.get("/api/presence/users/bulk").get_json()
    assert api.get("/api/presence/users/bulk/").get_json() == {"presence": expected}  # trailing slash
    assert str(community.member.id) not in api.get("/api/presence/users/bulk").get_json()["presence"]
    # the comma list still answers for ids, and "bulk" is not an id there
    assert api.get(f"/api/presence/users/{community.pcmember.id},{community.member.id}").get_json() == {
        "presence": {str(community.pcmember.id): True, str(community.member.id): False}}
    assert api.get(f"/api/presence/users/bulk,{community.member.id}").status_code == 400
    assert ApiClient(app.test_client()).get("/api/presence/users/bulk").status_code == 401
