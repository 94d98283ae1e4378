"""Presence across sockets and processes (docs/decisions/0015-presence.md)."""
import os
import signal
import time
from contextlib import contextmanager

import pytest

from kraken.users.models import User
from tests.live import LiveServer, wait_for
from tests.realtime.conftest import live_env
from tests.realtime.test_messaging_sockets import world  # noqa: F401


def online_events(client, user_id, event):
    return client.received(event, lambda p: p["userId"] == str(user_id))


@contextmanager
def on_a_second_server(live, settings, tmp_path_factory, sockets, world, name="carol", **env):
    """(second server, alice watching presence on `live`, `name`'s socket on the second server), once
    alice has seen them come online; the second server is stopped afterwards."""
    second = LiveServer(live_env(settings, tmp_path_factory, **env),
                        tmp_path_factory.mktemp("logs") / "second.log").start()
    try:
        watcher = sockets(live.url, world.tokens["alice"])
        watcher.emit("joinAll", str(world.club.id))
        time.sleep(0.3)
        user = sockets(second.url, world.tokens[name])
        assert watcher.wait_for("userOnline", lambda p: p["userId"] == str(getattr(world, name).id))
        yield second, watcher, user
    finally:
        second.stop()


def test_one_online_for_two_sockets_and_offline_after_the_last(live, sockets, world, login_as):
    watcher = sockets(live.url, world.tokens["alice"])
    watcher.emit("joinAll", str(world.club.id))
    time.sleep(0.3)
    first = sockets(live.url, world.tokens["bob"])
    second = sockets(live.url, world.tokens["bob"])
    assert watcher.wait_for("userOnline", lambda p: p["userId"] == str(world.bob.id))
    time.sleep(0.5)
    assert len(online_events(watcher, world.bob.id, "userOnline")) == 1
    online = watcher.wait_for("userOnline", lambda p: p["userId"] == str(world.bob.id))
    assert online["username"] == "bob"
    api = login_as(world.alice)
    assert api.get(f"/api/presence/user/{world.bob.id}").get_json() == {"userId": str(world.bob.id), "isOnline": True}

    first.close()
    time.sleep(0.5)
    assert not online_events(watcher, world.bob.id, "userOffline")
    assert api.get(f"/api/presence/user/{world.bob.id}").get_json()["isOnline"] is True

    second.close()
    assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(world.bob.id))
    assert api.get(f"/api/presence/users/{world.bob.id},{world.carol.id}").get_json() == {
        "presence": {str(world.bob.id): False, str(world.carol.id): False}}
    assert User.objects(id=world.bob.id).first().last_seen is not None
    assert api.get("/api/presence/users/nope").status_code == 400


def test_outsiders_do_not_hear_about_presence(live, sockets, world):
    dave = sockets(live.url, world.tokens["dave"])
    dave.emit("joinAll", str(world.other.id))
    time.sleep(0.3)
    sockets(live.url, world.tokens["bob"])
    time.sleep(0.8)
    assert not dave.received("userOnline", lambda p: p["userId"] == str(world.bob.id))


def test_a_killed_process_s_sockets_go_offline_within_the_heartbeat_window(live, settings, tmp_path_factory,
                                                                            sockets, world):
    with on_a_second_server(live, settings, tmp_path_factory, sockets, world) as (doomed, watcher, _):
        for child in _children(doomed.proc.pid) + [doomed.proc.pid]:
            os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()
        # presence TTL is 6 s for these servers: expiry plus one sweep of the surviving process
        assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(world.carol.id), timeout=25)
        assert time.monotonic() - killed_at < 20  # TTL 6 s + one 2 s sweep, with room for a loaded machine


def test_a_reconnection_within_the_grace_announces_nothing(live, settings, tmp_path_factory, sockets, world,
                                                           login_as):
    with on_a_second_server(live, settings, tmp_path_factory, sockets, world, name="bob",
                            KRAKEN_PRESENCE_GRACE="2") as (graceful, watcher, bob):
        api = login_as(world.alice)
        for _ in range(3):  # blips: the socket closes and a new one comes within the grace
            bob.close()
            time.sleep(0.5)
            assert api.get(f"/api/presence/user/{world.bob.id}").get_json()["isOnline"] is True
            bob = sockets(graceful.url, world.tokens["bob"])
        time.sleep(2.5)  # past the grace
        assert not online_events(watcher, world.bob.id, "userOffline")
        assert len(online_events(watcher, world.bob.id, "userOnline")) == 1

        bob.close()
        closed = time.monotonic()
        assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(world.bob.id), timeout=6)
        assert 1.5 < time.monotonic() - closed < 5  # the grace (2 s) plus one settle step
        assert api.get(f"/api/presence/user/{world.bob.id}").get_json()["isOnline"] is False
        time.sleep(1)
        assert len(online_events(watcher, world.bob.id, "userOffline")) == 1


def test_sigterm_closes_the_process_s_sockets_at_once_and_they_go_offline(live, settings, tmp_path_factory,
                                                                         sockets, world):
    """gunicorn would wait its 20 s graceful timeout for open WebSockets: the worker closes them instead,
    so clients reconnect elsewhere at once, the process exits, and presence follows without the TTL."""
    with on_a_second_server(live, settings, tmp_path_factory, sockets, world,
                                  KRAKEN_PRESENCE_TTL="30") as (stopping, watcher, carol):
        stopping.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert wait_for(lambda: not carol.connected, timeout=5), "the server closed the socket"
        assert stopping.proc.wait(timeout=10) == 0
        assert time.monotonic() - signalled < 10  # not graceful_timeout (20 s)
        # offline through the socket's own disconnect, not the 30 s presence TTL
        assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(world.carol.id), timeout=5)


def test_sockets_closed_for_a_sigterm_get_a_longer_grace(live, settings, tmp_path_factory, sockets, world):
    """A restart reconnects every client at once: their users stay online for 3x the grace, not 1x."""
    with on_a_second_server(live, settings, tmp_path_factory, sockets, world,
                                  KRAKEN_PRESENCE_GRACE="1") as (stopping, watcher, carol):
        stopping.proc.send_signal(signal.SIGTERM)
        assert wait_for(lambda: not carol.connected, timeout=5)
        closed = time.monotonic()
        time.sleep(2)  # past the ordinary 1 s grace and a settle step
        assert not online_events(watcher, world.carol.id, "userOffline")
        assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(world.carol.id), timeout=5)
        assert time.monotonic() - closed > 2.4


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
