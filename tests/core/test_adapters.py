"""The library privates kraken/adapters/ relies on still have the shape it relies on.

Each library is pinned to an exact version in requirements.txt; an upgrade that moves, renames or
re-signs one of these privates fails here, before it fails in production
(docs/decisions/0039-library-adapters.md)."""
from __future__ import annotations

import inspect
import re
import socket
from importlib.metadata import version
from pathlib import Path

import engineio
import flask_jwt_extended
import pytest
import socketio
from engineio.async_drivers import gevent as gevent_driver
from flask import Flask
from flask_jwt_extended import JWTManager, create_access_token, decode_token
from geventwebsocket.websocket import Header, WebSocket

from kraken.adapters import engineio as engineio_adapter
from kraken.adapters.jwt import VerifiedTokenCache
from kraken.adapters.redis import resp3_connection
from kraken.adapters.socketio import PubSubManager
from tests.conftest import REDIS_URL

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


def _params(function) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in inspect.signature(function).parameters.values()]


def _source(function) -> str:
    return inspect.getsource(function)


@pytest.mark.parametrize("package", ["redis", "python-engineio", "python-socketio", "Flask-SocketIO",
                                     "Flask-JWT-Extended", "gevent-websocket"])
def test_every_adapted_library_is_pinned_to_the_installed_version(package):
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", REQUIREMENTS.read_text(), re.M))
    assert package in pins, f"{package} is adapted in kraken/adapters/ and must be pinned exactly"
    assert version(package) == pins[package]


# flask-jwt-extended -----------------------------------------------------------------------------

def test_jwt_decoding_still_goes_through_decode_jwt_from_config():
    empty = inspect.Parameter.empty
    assert _params(JWTManager._decode_jwt_from_config) == [
        ("self", empty), ("encoded_token", empty), ("csrf_value", None), ("allow_expired", False)]
    assert "jwt_manager._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)" in \
        _source(flask_jwt_extended.utils.decode_token)


def test_a_verified_token_is_decoded_once_per_process():
    app = Flask(__name__)
    app.config.update(JWT_SECRET_KEY="x" * 32)
    manager = VerifiedTokenCache()
    manager.init_app(app)
    with app.app_context():
        token = create_access_token(identity="someone")
        assert decode_token(token)["sub"] == "someone"
        assert token in manager._verified  # the adapter saw flask-jwt-extended's own decode
        assert decode_token(token) == decode_token(token)


# python-engineio and gevent-websocket ------------------------------------------------------------

def test_engineio_websocket_class_is_still_chosen_from_the_driver_table():
    assert getattr(gevent_driver, "SimpleWebSocketWSGI", None) is None, "gevent-websocket driver expected"
    server = engineio.Server(async_mode="gevent")
    assert server._async["websocket"] is gevent_driver.WebSocketWSGI
    assert issubclass(engineio_adapter.DirectWebSocket, gevent_driver.WebSocketWSGI)
    assert [name for name, _ in _params(gevent_driver.WebSocketWSGI.__init__)] == ["self", "handler", "server"]
    assert "self._sock = environ['wsgi.websocket']" in _source(gevent_driver.WebSocketWSGI.__call__)
    assert "self._sock.send(message)" in _source(gevent_driver.WebSocketWSGI.send)
    upgrade = " ".join(_source(engineio.socket.Socket._upgrade_websocket).split())
    assert "self.server._async['websocket']( self._websocket_handler, self.server)" in upgrade


def test_engineio_socket_has_the_state_the_direct_writer_reads():
    sock = engineio.socket.Socket(engineio.Server(async_mode="gevent"), "sid")
    for name in ("queue", "upgraded", "upgrading", "closed"):
        assert hasattr(sock, name), name
    assert sock.queue.empty() and not sock.upgraded and not sock.upgrading and not sock.closed
    assert [n for n, _ in _params(engineio.socket.Socket.check_ping_timeout)] == ["self"]
    assert [n for n, _ in _params(engineio.socket.Socket.send)] == ["self", "pkt"]
    assert callable(sock._websocket_handler)
    assert [n for n, _ in _params(engineio.Server.send_packet)] == ["self", "sid", "pkt"]


def test_gevent_websocket_framing_and_writes():
    assert _params(Header.encode_header) == [(n, inspect.Parameter.empty)
                                                  for n in ("fin", "opcode", "mask", "length", "flags")]
    assert WebSocket.OPCODE_TEXT == 0x01
    assert {"raw_write", "handler", "closed"} <= set(WebSocket.__slots__) | set(dir(WebSocket))


# python-socketio -----------------------------------------------------------------------------------

def test_socketio_broadcasts_still_hand_packets_to_send_eio_packet():
    assert [n for n, _ in _params(socketio.Server._send_eio_packet)] == ["self", "eio_sid", "eio_pkt"]
    assert "self.server._send_eio_packet(eio_sid, p)" in _source(socketio.Manager.emit)
    server = socketio.Server(async_mode="threading")
    assert "_send_eio_packet" not in server.__dict__  # ours is set per server, by kraken.adapters


def test_socketio_pubsub_manager_still_routes_every_emit_through_handle_emit():
    assert [n for n, _ in _params(socketio.PubSubManager._handle_emit)] == ["self", "message"]
    assert "self._handle_emit(message)" in _source(socketio.PubSubManager.emit)
    assert "self._handle_emit(data)" in _source(socketio.PubSubManager._thread)
    # the documented extension points the queue implements
    assert "must be implemented in a" in _source(socketio.PubSubManager._publish)
    assert "must be implemented in a" in _source(socketio.PubSubManager._listen)


def test_socketio_manager_bookkeeping_cleared_on_disconnect():
    manager = PubSubManager()
    for name in ("rooms", "callbacks", "pending_connect", "pending_disconnect"):
        assert isinstance(getattr(manager, name), dict), name
    assert _params(socketio.base_manager.BaseManager.basic_disconnect)[:3] == [
        ("self", inspect.Parameter.empty), ("sid", inspect.Parameter.empty), ("namespace", inspect.Parameter.empty)]
    # everything the stock disconnect touches, which ours (kraken.adapters.socketio) must do too
    touched = set(re.findall(r"self\.(\w+)", _source(socketio.base_manager.BaseManager.basic_disconnect)))
    assert touched == {"rooms", "basic_leave_room", "callbacks", "pending_connect", "pending_disconnect"}


# redis-py -------------------------------------------------------------------------------------------

def test_redis_connection_hands_over_its_connected_resp3_socket():
    conn, sock = resp3_connection(REDIS_URL, name="kraken-test-adapters")
    try:
        assert isinstance(sock, socket.socket) and sock is conn._sock
        assert conn.get_protocol() in (3, "3")
        conn.send_command("CLIENT", "GETNAME")
        assert conn.read_response() in (b"kraken-test-adapters", "kraken-test-adapters")
    finally:
        conn.disconnect()
