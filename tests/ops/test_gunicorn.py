"""gunicorn.conf.py: bind and worker count from the environment (through kraken.config), TCP_NODELAY
on the sockets gunicorn creates (and no ~40 ms Nagle stalls on keep-alive responses), and a graceful
SIGTERM that lets an in-flight request finish and exits 0 within graceful_timeout."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

import pytest

from tests.live import ROOT, VENV_BIN, LiveServer, free_port
from tests.realtime.conftest import live_env


def gunicorn_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--print-config", "wsgi:app"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def config_values(output: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in output.splitlines()) if _}


def test_bind_and_workers_come_from_the_environment(tmp_path):
    base = {**os.environ, "KRAKEN_ENV": "test", "KRAKEN_DATA_DIR": str(tmp_path)}
    default = config_values(gunicorn_config({**base, "PORT": "4567", "KRAKEN_BIND_HOST": "127.0.0.1"}).stdout)
    assert default["bind"] == "['127.0.0.1:4567']" and default["workers"] == "1"
    assert default["worker_class"] == "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
    assert default["graceful_timeout"] == "20"

    three = gunicorn_config({**base, "KRAKEN_WORKERS": "3"})
    assert config_values(three.stdout)["workers"] == "3" and config_values(three.stdout)["bind"] == "['0.0.0.0:3000']"
    assert "Socket.IO long-polling needs one worker per process" in three.stderr

    bad = gunicorn_config({**base, "KRAKEN_WORKERS": "0"})
    assert bad.returncode == 2 and "KRAKEN_WORKERS" in bad.stderr


# Builds gunicorn's listeners from our config the way its arbiter does, then reports TCP_NODELAY on
# the listener and on a connection accepted from it (Linux copies the option to accepted sockets).
_NODELAY_PROBE = """
import json, socket, sys
from gunicorn.app.wsgiapp import WSGIApplication
from gunicorn.glogging import Logger
from gunicorn.sock import create_sockets
sys.argv = ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
cfg = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg
[listener] = create_sockets(cfg, Logger(cfg))
client = socket.create_connection(listener.sock.getsockname()[:2])
accepted, _ = listener.sock.accept()
option = lambda s: s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
print(json.dumps({"bind": cfg.bind, "listener": option(listener.sock), "accepted": option(accepted)}))
"""


def test_gunicorn_sockets_have_tcp_nodelay(tmp_path):
    port = free_port()
    env = {**os.environ, "KRAKEN_ENV": "test", "KRAKEN_DATA_DIR": str(tmp_path), "PORT": str(port),
           "KRAKEN_BIND_HOST": "127.0.0.1"}
    result = subprocess.run([sys.executable, "-c", _NODELAY_PROBE], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.splitlines()[-1])
    assert probe["bind"] == [f"127.0.0.1:{port}"]
    assert probe["listener"] != 0 and probe["accepted"] != 0


@pytest.fixture
def server(settings, tmp_path_factory, app):
    server = LiveServer(live_env(settings, tmp_path_factory, KRAKEN_RATE_LIMITS="false"),
                        tmp_path_factory.mktemp("logs") / "gunicorn.log").start()
    yield server
    server.stop()


def test_keep_alive_responses_do_not_wait_for_delayed_acks(server):
    """Nagle + delayed ACK would add ~40 ms to each response; 20 in a row on one connection stay far below."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    timings = []
    try:
        for _ in range(21):
            started = time.perf_counter()
            conn.request("GET", "/api/health/live")
            response = conn.getresponse()
            assert response.status == 200 and json.loads(response.read()) == {"status": "ok"}
            assert response.getheader("Connection", "").lower() != "close", "the connection is kept alive"
            timings.append(time.perf_counter() - started)
    finally:
        conn.close()
    timings = timings[1:]  # the first request pays for the app's first-use set-up
    assert statistics.median(timings) < 0.020, timings
    assert sum(timings) < 20 * 0.040, timings


def test_sigterm_lets_the_in_flight_request_finish_and_exits_0(server):
    body = json.dumps({"username": "nobody", "password": "x" * 200}).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(b"POST /api/users HTTP/1.1\r\nHost: kraken.test\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:20])
        time.sleep(0.3)  # the worker is now inside the request, reading its body
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.proc.poll() is None, "gunicorn waits for the request in flight"
        with pytest.raises(OSError):  # ... while it takes no new connections
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        sock.sendall(body[20:])
        data = b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _content_length(data):
            chunk = sock.recv(65536)
            assert chunk, f"connection closed early: {data!r}"
            data += chunk
    finally:
        sock.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    # the app read the whole body, validated it and answered: registration needs an invite here
    assert json.loads(payload)["code"] == "INVITE_REQUIRED"
    started = time.monotonic()
    assert server.proc.wait(timeout=20) == 0  # graceful_timeout
    assert time.monotonic() - started < 20


def _content_length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 1 << 30
