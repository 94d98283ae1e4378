"""A push service of the test's own on loopback (RFC 8030: it takes POSTs of encrypted pushes), and
browsers' subscriptions whose private keys the test holds, so it decrypts what arrives (RFC 8291)."""
from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.live import LiveServer
from tests.realtime.conftest import live_b, live_env, sockets  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def live(settings, tmp_path_factory, app):
    """tests/realtime's live server, but per module: no idle process outlives the tests that use it."""
    server = LiveServer(live_env(settings, tmp_path_factory), tmp_path_factory.mktemp("logs") / "live.log").start()
    yield server
    server.stop()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class PushService:
    """Answers each path with the status set for it (201 by default) and records every request."""

    server: ThreadingHTTPServer
    statuses: dict = field(default_factory=dict)
    received: list = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait(self, count: int = 1, timeout: float = 10) -> list[Received]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@pytest.fixture
def push_service():
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            service = holder["service"]
            status = service.statuses.get(self.path, 201)
            self.send_response(status)
            if status in (301, 302, 307, 308):
                self.send_header("Location", service.url + "/redirected")
            self.send_header("Content-Length", "0")
            self.end_headers()
            with service.cond:
                service.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                service.cond.notify_all()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["service"] = PushService(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["service"]
    server.shutdown()
    server.server_close()


@dataclass
class Browser:
    """A browser's push subscription: its endpoint, and the keys only it (here: the test) holds."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def keys(self) -> dict:
        point = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                           serialization.PublicFormat.UncompressedPoint)
        return {"p256dh": b64(point), "auth": b64(self.auth)}

    def subscription(self, user_agent: str | None = None) -> dict:
        body = {"endpoint": self.endpoint, "expirationTime": None, "keys": self.keys}
        return body | ({"userAgent": user_agent} if user_agent else {})

    def decrypt(self, received: Received) -> dict:
        assert received.headers["content-encoding"] == "aes128gcm"
        return json.loads(http_ece.decrypt(received.body, private_key=self.private_key, auth_secret=self.auth,
                                           version="aes128gcm"))


@pytest.fixture
def browser(push_service):
    """browser(path) -> a new Browser subscribed (by the caller) at push_service.url + path."""
    return lambda path="/push/one": Browser(push_service.url + path, ec.generate_private_key(ec.SECP256R1()),
                                            os.urandom(16))


@pytest.fixture
def push_settings(app, monkeypatch):
    """push_settings(**changes): the app's settings with these changes, for this test only; by default
    push endpoints on loopback (the test's own push service) are allowed."""
    original = app.extensions["kraken.settings"]

    def _apply(**changes):
        monkeypatch.setitem(app.extensions, "kraken.settings", original.model_copy(update=changes))
    _apply(push_insecure_endpoints=True)
    return _apply
