"""docker/nginx.conf with a real nginx (Debian's, installed by scripts/install-nginx.sh
when missing), on loopback: `nginx -t`, then the shipped config serving two stub
backends. The only changes to the shipped files: the upstream servers (app1:3000,
app2:3000 -> 127.0.0.1 ports) and the listen port; pid and logs go to tmp_path."""
from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.live import ROOT, free_port, wait_for
from tests.ops.helpers import DOCKER

SHIPPED = (DOCKER / "nginx.conf").read_text()
SHIPPED_UPSTREAM = (DOCKER / "nginx-upstream.conf").read_text()
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def nginx_bin() -> str:
    def find():
        return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not find():
        subprocess.run(["sh", str(ROOT / "scripts/install-nginx.sh")], check=True, timeout=600)
    assert find(), "scripts/install-nginx.sh did not provide nginx"
    return find()


def render(directory: Path, listen_port: int, backend_ports: list[int]) -> Path:
    """Copies of nginx.conf and nginx-upstream.conf side by side (the include is relative)."""
    directory.mkdir(parents=True, exist_ok=True)
    conf, n = re.subn(r"listen 80 default_server;", f"listen 127.0.0.1:{listen_port} default_server;", SHIPPED)
    assert n == 1
    ports = iter(backend_ports)
    upstream, n = re.subn(r"server app\d+:3000;", lambda _: f"server 127.0.0.1:{next(ports)};", SHIPPED_UPSTREAM)
    assert n == len(backend_ports) == 2
    (directory / "nginx-upstream.conf").write_text(upstream)
    (directory / "nginx.conf").write_text(conf)
    return directory / "nginx.conf"


def nginx_args(nginx_bin: str, conf: Path) -> list[str]:
    tmp = conf.parent
    return [nginx_bin, "-p", str(tmp), "-e", "stderr", "-c", str(conf),
            "-g", f"pid {tmp}/nginx.pid; daemon off;"]


def test_shipped_config_passes_nginx_t(nginx_bin, tmp_path):
    conf = render(tmp_path / "conf", free_port(), [free_port(), free_port()])
    result = subprocess.run([*nginx_args(nginx_bin, conf), "-t"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_shipped_config_is_sticky_and_passes_websocket_upgrades():
    assert re.search(r"upstream kraken \{\s*ip_hash;", SHIPPED_UPSTREAM)
    assert "include nginx-upstream.conf;" in SHIPPED
    socket_io = SHIPPED.split("location /socket.io/ {")[1].split("}")[0]
    for line in ("proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;",
                 "proxy_set_header Connection $connection_upgrade;", "proxy_buffering off;",
                 "proxy_read_timeout 3600s;"):
        assert line in socket_io, line
    assert re.search(r"map \$http_upgrade \$connection_upgrade \{\s*default upgrade;", SHIPPED)
    api = SHIPPED.split("location /api/ {")[1].split("}")[0]
    for line in ("client_max_body_size 26m;", "X-Forwarded-For $proxy_add_x_forwarded_for;",
                 "X-Forwarded-Proto $scheme;", "X-Forwarded-Host $http_host;"):
        assert line in api, line


class _Echo(BaseHTTPRequestHandler):
    """Answers with which backend it is and what it received; completes WebSocket upgrades."""
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        received = 0
        while received < length:
            received += len(self.rfile.read(min(MiB, length - received)))
        body = json.dumps({"backend": self.server.name, "path": self.path, "received": received,
                           "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.write(body + b"\n")  # after the 101 the connection is a raw tunnel
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def proxy(nginx_bin, tmp_path_factory):
    """The shipped config in a real nginx on a loopback port, in front of backends "a" and "b"."""
    backends = []
    for name in ("a", "b"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
        server.daemon_threads = True
        server.name = name
        threading.Thread(target=server.serve_forever, daemon=True).start()
        backends.append(server)
    port = free_port()
    tmp = tmp_path_factory.mktemp("nginx")
    conf = render(tmp / "conf", port, [s.server_address[1] for s in backends])
    log = open(tmp / "nginx.log", "w")
    proc = subprocess.Popen(nginx_args(nginx_bin, conf), stdout=log, stderr=subprocess.STDOUT)

    def up():
        assert proc.poll() is None, (tmp / "nginx.log").read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False
    try:
        assert wait_for(up, timeout=15)
        yield port
    finally:
        proc.terminate()  # SIGTERM: nginx's fast shutdown, master and workers
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        for server in backends:
            server.shutdown()
            server.server_close()


def request(port: int, method: str, path: str, source: str = "127.0.0.1", headers: dict | None = None,
            body: bytes | None = None) -> tuple[int, dict | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        is_json = response.getheader("Content-Type") == "application/json"
        return response.status, json.loads(data) if is_json else None
    finally:
        conn.close()


def test_api_gets_forwarded_headers(proxy):
    status, echo = request(proxy, "GET", "/api/health", headers={
        "Host": "chat.example.test", "X-Forwarded-For": "203.0.113.9", "X-Request-ID": "req-123"})
    assert status == 200
    headers = echo["headers"]
    # nginx appends the peer; the app (one trusted hop) reads the right-most entry, not the spoofable one
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == headers["host"] == "chat.example.test"
    assert headers["x-request-id"] == "req-123"
    assert echo["path"] == "/api/health"

    _, echo = request(proxy, "GET", "/api/health")
    assert re.fullmatch(r"[0-9a-f]{32}", echo["headers"]["x-request-id"]), "nginx supplies a request id"


def test_ip_hash_keeps_each_client_on_one_backend(proxy):
    # ip_hash hashes the first three octets of an IPv4 address, so clients differ by /24:
    # 127.0.N.1 are all loopback addresses on Linux.
    seen = {}
    for n in range(1, 11):
        source = f"127.0.{n}.1"
        backends = {request(proxy, "GET", f"/api/ping/{i}", source=source)[1]["backend"] for i in range(4)}
        assert len(backends) == 1, f"{source} was spread over {backends}"
        seen[source] = backends.pop()
    assert set(seen.values()) == {"a", "b"}, f"both processes get clients: {seen}"


def test_socket_io_polling_stays_on_the_websocket_backend(proxy):
    source = "127.0.7.1"
    _, polling = request(proxy, "GET", "/socket.io/?EIO=4&transport=polling", source=source)
    assert polling["headers"].get("connection", "").lower() != "upgrade", "no upgrade without Upgrade"

    with socket.create_connection(("127.0.0.1", proxy), timeout=10, source_address=(source, 0)) as sock:
        sock.sendall(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: kraken.test\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, tunnel = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    upgraded = json.loads(tunnel.splitlines()[0])  # bytes the backend wrote after 101 came through
    assert upgraded["headers"]["upgrade"] == "websocket"
    assert upgraded["headers"]["connection"].lower() == "upgrade"
    assert upgraded["headers"]["sec-websocket-key"] == "dGhlIHNhbXBsZSBub25jZQ=="
    assert upgraded["headers"]["x-forwarded-for"] == source
    assert upgraded["backend"] == polling["backend"], "the upgrade reaches the process holding the session"


def test_upload_size_limit(proxy):
    # the largest upload (25 MiB) plus multipart overhead passes ...
    status, echo = request(proxy, "POST", "/api/file-upload", body=b"x" * (25 * MiB + 64 * 1024),
                           headers={"Content-Type": "application/octet-stream"})
    assert status == 200 and echo["received"] == 25 * MiB + 64 * 1024
    # ... and a bigger one is refused by nginx from its Content-Length, before any body is sent
    conn = http.client.HTTPConnection("127.0.0.1", proxy, timeout=10)
    try:
        conn.putrequest("POST", "/api/file-upload")
        conn.putheader("Content-Length", str(27 * MiB))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()


def test_other_paths_are_not_proxied(proxy):
    status, echo = request(proxy, "GET", "/admin")
    assert status == 404 and echo is None
