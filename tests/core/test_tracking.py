"""kraken.tracking against the real Redis: what is held locally follows every write, in any client."""
from __future__ import annotations

import os
import time

import pytest
import redis as redis_lib

from kraken.tracking import TrackedKeys, _parse
from tests.conftest import REDIS_URL

PREFIX = "test:tracked:"
NAME = f"test-tracking-{os.getpid()}"  # the app's own tracking connections are there too


def _until(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def other():
    client = redis_lib.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def tracked():
    keys = TrackedKeys((PREFIX,), ping_every=0.1, dead_after=0.5, name=NAME)
    keys.configure(REDIS_URL)
    keys.get([PREFIX + "x"])  # starts the reader
    assert _until(lambda: keys.live)
    yield keys
    keys.stop()


def _read(tracked, other, key):
    ticket = tracked.ticket()
    value = other.get(key)
    tracked.put(ticket, {key: value})
    return value


def _tracking_clients(other):
    return [c for c in other.client_list() if c.get("name") == NAME]


def test_a_held_value_is_dropped_by_any_write_delete_or_expiry(tracked, other):
    key = PREFIX + "a"
    other.set(key, "1")
    _read(tracked, other, key)
    assert tracked.get([key]) == ["1"]
    # Another client writes: the copy goes as soon as Redis's invalidation push arrives. The push travels
    # on the tracking connection, not on the writer's, so it may land just after the write returns.
    other.set(key, "2")
    assert _until(lambda: tracked.get([key]) is None)
    assert _read(tracked, other, key) == "2" and tracked.get([key]) == ["2"]
    other.delete(key)
    assert _until(lambda: tracked.get([key]) is None)
    _read(tracked, other, key)
    assert tracked.get([key]) == [None]  # an absent key is held too (a revocation marker not set)
    other.set(key, "3", px=50)  # ... until it is set
    assert _until(lambda: tracked.get([key]) is None)
    _read(tracked, other, key)
    # expiry drops it too. Tracking is per server: another session's FLUSHDB on the shared Redis also
    # drops every copy, so wait for the key to be gone before asking about the copy, not the other way.
    assert _until(lambda: other.get(key) is None)
    assert _until(lambda: tracked.get([key]) is None)


def test_a_read_overtaken_by_a_write_is_not_kept(tracked, other):
    key = PREFIX + "raced"
    other.set(key, "old")
    ticket = tracked.ticket()
    value = other.get(key)
    other.set(key, "new")  # lands between our read and our put
    time.sleep(0.05)
    tracked.put(ticket, {key: value})
    assert tracked.get([key]) is None
    assert _read(tracked, other, key) == "new" and tracked.get([key]) == ["new"]


def test_keys_outside_the_prefixes_are_never_held(tracked, other):
    tracked.put(tracked.ticket(), {"test:untracked:x": "1", PREFIX + "in": "1"})
    assert tracked.get(["test:untracked:x"]) is None
    assert tracked.get([PREFIX + "in"]) == ["1"]


def test_a_flush_drops_everything(tracked, other):
    for name in "abc":
        _read(tracked, other, PREFIX + name)
    assert tracked.held() == 3
    other.flushdb()
    assert _until(lambda: tracked.get([PREFIX + "a"]) is None and tracked.held() == 0)


def test_a_lost_connection_drops_everything_and_comes_back(tracked, other):
    _read(tracked, other, PREFIX + "k")
    ticket = tracked.ticket()
    (client,) = _tracking_clients(other)
    other.client_kill_filter(_id=client["id"])
    assert tracked.get([PREFIX + "k"]) is None  # the next get sees the connection closed
    assert not tracked.live and tracked.held() == 0
    tracked.put(ticket, {PREFIX + "k": "stale"})  # a read begun on the old connection is void
    assert _until(lambda: tracked.live)
    assert tracked.get([PREFIX + "k"]) is None
    other.set(PREFIX + "k", "after")
    assert _read(tracked, other, PREFIX + "k") == "after" and tracked.get([PREFIX + "k"]) == ["after"]
    other.set(PREFIX + "k", "again")  # the new connection tracks too
    assert tracked.get([PREFIX + "k"]) is None


def test_a_silent_connection_is_not_trusted(tracked, other):
    _read(tracked, other, PREFIX + "s")
    other.execute_command("CLIENT", "PAUSE", 1500, "ALL")  # Redis answers no one, pings included
    try:
        assert _until(lambda: tracked.get([PREFIX + "s"]) is None, timeout=1.4)
    finally:
        other.execute_command("CLIENT", "UNPAUSE")
    assert _until(lambda: tracked.live)
    assert tracked.get([PREFIX + "s"]) is None  # nothing from before the silence survives


def test_redis_refusing_to_track_means_every_read_goes_to_redis(other, caplog):
    keys = TrackedKeys(("test:overlap:", "test:overlap:a"), name=NAME)  # Redis refuses overlapping prefixes
    keys.configure(REDIS_URL)
    keys.get(["test:overlap:x"])
    assert _until(lambda: "refused client tracking" in caplog.text)
    keys.put(keys.ticket(), {"test:overlap:x": "1"})
    assert keys.get(["test:overlap:x"]) is None and not keys.live
    assert not keys.wait_live(2.0) and "overlap" in keys.refused  # what `flask kraken check` reports
    assert not _tracking_clients(other)
    keys.stop()


def test_without_redis_nothing_is_held():
    keys = TrackedKeys((PREFIX,), ping_every=0.1, dead_after=0.5)
    keys.configure("redis://127.0.0.1:1/0")
    assert keys.get([PREFIX + "x"]) is None
    time.sleep(0.3)
    keys.put(keys.ticket(), {PREFIX + "x": "1"})
    assert keys.get([PREFIX + "x"]) is None and keys.held() == 0
    keys.stop()


@pytest.mark.parametrize("wire, value", [
    (b"+OK\r\n", "OK"),
    (b">2\r\n$10\r\ninvalidate\r\n*2\r\n$3\r\nk:1\r\n$3\r\nk:2\r\n", ["invalidate", ["k:1", "k:2"]]),
    (b">2\r\n$10\r\ninvalidate\r\n_\r\n", ["invalidate", None]),
    (b"%1\r\n+a\r\n:1\r\n", ["a", 1]),
])
def test_the_resp_reader_parses_whole_values_and_waits_for_partial_ones(wire, value):
    def plain(v):
        return v.decode() if isinstance(v, bytes) else [plain(i) for i in v] if isinstance(v, list) else v
    parsed, end = _parse(bytearray(wire), 0)
    assert plain(parsed) == value and end == len(wire)
    for cut in range(1, len(wire)):
        assert _parse(bytearray(wire[:cut]), 0) is None


_UNDER_GEVENT = """
from gevent import monkey; monkey.patch_all()
import sys, time, gevent, redis
from kraken.tracking import TrackedKeys
url, name = sys.argv[1], sys.argv[2]
keys = TrackedKeys(("test:gevent:",), ping_every=0.1, dead_after=0.5, name=name)
keys.configure(url)
other = redis.Redis.from_url(url, decode_responses=True)
def until(predicate, seconds=3.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        gevent.sleep(0.01)
    return False
def read():
    ticket = keys.ticket()
    keys.put(ticket, {"test:gevent:a": other.get("test:gevent:a")})
keys.get(["test:gevent:a"])
print("live", until(lambda: keys.live))
for n in range(3):
    read()
    other.set("test:gevent:a", str(n))
    print("dropped by a write", keys.get(["test:gevent:a"]) is None)
    read()
    print("held", keys.get(["test:gevent:a"]) == [str(n)])
    (client,) = [c for c in other.client_list() if c.get("name") == name]
    other.client_kill_filter(_id=client["id"])  # the reader greenlet sits in select meanwhile
    print("dropped with the connection", keys.get(["test:gevent:a"]) is None)
    print("live again", until(lambda: keys.live))
keys.stop()
gevent.sleep(0.3)
print("closed", not [c for c in other.client_list() if c.get("name") == name])
"""


def test_under_gevent_a_request_and_the_reader_greenlet_share_the_connection():
    """The production mode: monkey-patched, the reader is a greenlet parked in select while
    request greenlets drain the same socket without blocking; a connection killed under it comes back."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _UNDER_GEVENT, REDIS_URL, NAME + "-gevent"], cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert lines and all(line.endswith("True") for line in lines), done.stdout
    assert len(lines) == 1 + 3 * 4 + 1
