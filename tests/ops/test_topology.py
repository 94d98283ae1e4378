"""The production topology without Docker, on loopback: the SHIPPED docker/nginx.conf (Debian's
nginx) in front of two gunicorn app processes (`LiveServer`, as `make run` starts them) sharing the
running Redis and a FerretDB database of this module's own.

How the test knows both processes are used: nginx's ip_hash sticks a client to a backend by the
first three octets of its IPv4 address, and every 127.x.y.z address is this machine. The test asks
nginx which backend serves each of 127.0.1.1 ... 127.0.12.1 (its access log records
`$upstream_addr` per request id), then connects one Socket.IO client from an address that nginx sends
to process A and one from an address it sends to process B (the websocket-client transport is
handed a socket bound to that source). Both sides then confirm it independently: nginx's access log
line of each WebSocket upgrade names the backend, and each app process logs "socket connected" only
for the user that landed on it. A message sent by the client on A reaches the client on B."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from contextlib import contextmanager
from types import SimpleNamespace

import pymongo
import pytest
import redis as redis_lib
import socketio

from tests.live import LiveServer, free_port, wait_for
from tests.ops.helpers import cli_env, kraken_cli
from tests.ops.test_nginx_config import nginx_args, nginx_bin, render, request  # noqa: F401 - fixture
from tests.realtime.sockets import SocketClient

DB_NAME = f"kraken_ops_topology_{os.getpid()}"
PASSWORD = "correct horse battery"
SOURCES = [f"127.0.{n}.1" for n in range(1, 13)]


class BoundSocketClient(SocketClient):
    """The test suite's socket client, connecting from a given loopback source address."""

    def __init__(self, url: str, token: str, source: str):
        super().__init__(url, token)
        host, port = url.removeprefix("http://").split(":")
        sock = socket.create_connection((host, int(port)), timeout=5, source_address=(source, 0))
        self.sio = socketio.Client(reconnection=False, websocket_extra_options={"socket": sock})
        self.sio.on("*", self._record)


@contextmanager
def running_topology(nginx_bin: str, tmp, **extra_env: str):
    """nginx (the shipped config) in front of two app processes on a private database; yields the layout."""
    port = free_port()
    # No CORS_ORIGINS needed: the shipped nginx forwards `Host: $http_host` (with the port), so a page
    # served through it is same-origin for the app's Socket.IO origin check.
    env = cli_env(tmp / "data", f"mongodb://127.0.0.1:27017/{DB_NAME}", KRAKEN_RATE_LIMITS="false",
                  KRAKEN_TRUSTED_PROXIES="1", KRAKEN_LOG_LEVEL="INFO", KRAKEN_ARGON2_MEMORY_KIB="1024",
                  KRAKEN_ARGON2_TIME_COST="1", **extra_env)
    pymongo.MongoClient(env["MONGODB_URL"]).drop_database(DB_NAME)
    assert kraken_cli(env, "migrate").returncode == 0
    assert kraken_cli({**env, "KRAKEN_OWNER_PASSWORD": PASSWORD}, "create-owner", "alice").returncode == 0
    invite = kraken_cli(env, "create-invite", "--max-uses", "5").stdout.strip()
    app_env = {k: v for k, v in env.items() if k not in ("PORT", "KRAKEN_BIND_HOST")}
    servers = [LiveServer(app_env, tmp / f"app{i}.log") for i in (1, 2)]
    nginx = log = None
    try:
        for server in servers:
            server.start()
        conf = render(tmp / "conf", port, [s.port for s in servers])
        log = open(tmp / "nginx.log", "w")
        nginx = subprocess.Popen(nginx_args(nginx_bin, conf), stdout=log, stderr=subprocess.STDOUT)
        assert wait_for(lambda: _answers(port), timeout=15), (tmp / "nginx.log").read_text()
        yield SimpleNamespace(port=port, url=f"http://127.0.0.1:{port}", servers=servers, invite=invite,
                              nginx_log=tmp / "nginx.log")
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        if log is not None:
            log.close()
        for server in servers:
            server.stop()
        pymongo.MongoClient(env["MONGODB_URL"]).drop_database(DB_NAME)
        redis_lib.Redis.from_url(env["REDIS_URL"]).flushdb()


@pytest.fixture(scope="module")
def topology(nginx_bin, tmp_path_factory):  # noqa: F811 - the fixture imported above
    with running_topology(nginx_bin, tmp_path_factory.mktemp("topology")) as layout:
        yield layout


def _answers(port: int) -> bool:
    try:
        return request(port, "GET", "/api/health/live")[0] == 200
    except OSError:
        return False


def _nginx_lines(path) -> list[str]:
    return path.read_text().splitlines()


def backend_of(topology, source: str) -> int:
    """The app port nginx chose for `source`, read from its access log (`$upstream_addr`, `rid=`)."""
    rid = f"probe-{source}-{time.monotonic_ns()}"
    status, _ = request(topology.port, "GET", "/api/health/live", source=source, headers={"X-Request-ID": rid})
    assert status == 200
    line = wait_for(lambda: next((l for l in _nginx_lines(topology.nginx_log) if f"rid={rid}" in l), None))
    assert line, f"no access-log line for {rid}"
    return int(re.search(r" 127\.0\.0\.1:(\d+) rid=", line).group(1))


def api(topology, method: str, path: str, source: str, token: str | None = None, body: dict | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return request(topology.port, method, path, source=source, headers=headers,
                   body=json.dumps(body).encode() if body is not None else None)


def login(topology, username: str, source: str) -> tuple[str, dict]:
    status, body = api(topology, "POST", "/api/auth/login", source, body={"username": username, "password": PASSWORD})
    assert status == 200, body
    token = body["accessToken"]
    status, profile = api(topology, "GET", "/api/users/profile", source, token)
    assert status == 200 and profile["username"] == username
    return token, profile


def app_log_users(server: LiveServer, message: str) -> set[str]:
    """user_ids of the app's JSON log lines with this message."""
    out = set()
    for line in server.output().splitlines():
        if line.startswith("{") and f'"{message}"' in line:
            out.add(json.loads(line).get("user_id"))
    return out


def test_two_processes_behind_the_shipped_nginx(topology):
    port_a, port_b = (s.port for s in topology.servers)
    routes = {source: backend_of(topology, source) for source in SOURCES}
    assert set(routes.values()) == {port_a, port_b}, f"ip_hash spreads the sources: {routes}"
    assert all(backend_of(topology, source) == routes[source] for source in SOURCES[:4]), "and sticks"
    src_a = next(s for s, p in routes.items() if p == port_a)
    src_b = next(s for s, p in routes.items() if p == port_b)

    # REST through nginx, on both processes: register, log in, profile, a community, a member
    status, _ = api(topology, "POST", "/api/users", src_b,
                    body={"username": "bob", "password": PASSWORD, "code": topology.invite})
    assert status == 201
    alice_token, alice = login(topology, "alice", src_a)
    bob_token, bob = login(topology, "bob", src_b)
    status, club = api(topology, "POST", "/api/community", src_a, alice_token, {"name": "Topology"})
    assert status == 201
    status, _ = api(topology, "POST", "/api/membership", src_a, alice_token,
                    {"userId": bob["id"], "communityId": club["id"]})
    assert status == 201
    status, channels = api(topology, "GET", f"/api/channels/community/{club['id']}", src_b, bob_token)
    assert status == 200
    general = next(c for c in channels if c["type"] == "TEXT")

    # Socket.IO through nginx: alice lands on process A, bob on process B
    clients = [BoundSocketClient(topology.url, alice_token, src_a), BoundSocketClient(topology.url, bob_token, src_b)]
    try:
        for client in clients:
            client.connect().emit("joinAll", club["id"])
        alice_socket, bob_socket = clients
        a, b = topology.servers
        assert wait_for(lambda: alice["id"] in app_log_users(a, "socket connected")
                        and bob["id"] in app_log_users(b, "socket connected"), timeout=5)
        assert bob["id"] not in app_log_users(a, "socket connected")
        assert alice["id"] not in app_log_users(b, "socket connected")
        time.sleep(0.5)  # joinAll has no ack

        sent = alice_socket.call("sendMessage", {"channelId": general["id"],
                                                 "spans": [{"type": "PLAINTEXT", "text": "via A"}]})
        got = bob_socket.wait_for("newMessage", lambda p: p["message"]["id"] == sent, timeout=10)
        assert got and got["message"]["authorId"] == alice["id"], "A -> Redis -> B"
        back = bob_socket.call("sendMessage", {"channelId": general["id"],
                                               "spans": [{"type": "PLAINTEXT", "text": "via B"}]})
        assert alice_socket.wait_for("newMessage", lambda p: p["message"]["id"] == back, timeout=10)
    finally:
        for client in clients:
            client.close()

    # nginx logs each WebSocket when it closes: the upgrade from each source went to its backend
    def upgrades():
        found = {}
        for line in _nginx_lines(topology.nginx_log):
            m = re.match(r'(\S+) "GET /socket\.io/\?[^"]*transport=websocket[^"]*" 101 .* 127\.0\.0\.1:(\d+) rid=', line)
            if m:
                found[m.group(1)] = int(m.group(2))
        return found if {src_a, src_b} <= set(found) else None
    assert wait_for(upgrades, timeout=5) == {src_a: port_a, src_b: port_b}
