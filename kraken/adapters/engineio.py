"""python-engineio + gevent-websocket (both pinned in requirements.txt): broadcasts serialised once
per room, one websocket frame written straight to every idle socket (docs/decisions/0039-library-adapters.md).

python-socketio encodes a room broadcast once, but engine.io then queues it on each recipient's
socket and wakes that socket's writer greenlet, which frames it and writes it: one queue hand-off,
two greenlet switches and one frame per recipient. That was three quarters of the server's time
in a 500-member fan-out. Server-to-client websocket frames are not masked, so every recipient's
frame is the same bytes: build it once, keep it on the packet, and at the end of the event loop's
turn write each idle websocket's frames with one non-blocking `send()` (broadcasts of the same
turn share it).

Order is kept: a socket with anything queued, or whose writer is mid-write, gets the packet
through its queue as before, and the writer writes the socket's pending frames before any packet
of its own; what the kernel does not take stays pending and the writer is woken to finish it.
Sockets still on long-polling, upgrading, or closed take the normal path. Only the
gevent-websocket driver is handled (what gunicorn runs); other async modes keep engine.io's path.

engine.io has no public hook for its websocket class or for a socket's writer (async_mode names a
module inside engineio.async_drivers), so this module relies on, and tests/core/test_adapters.py checks:
- `Server._async["websocket"]`, the websocket wrapper class of the async driver, replaced per server;
- `engineio.async_drivers.gevent.WebSocketWSGI(handler, server)`, its `_sock` (the gevent-websocket
  WebSocket) and `send`; the engine.io `Socket`'s `queue`, `upgraded`, `upgrading`, `closed`,
  `check_ping_timeout()`, `send(pkt)` and the handler being its bound `_websocket_handler`;
- gevent-websocket's `Header.encode_header`, `WebSocket.raw_write`, `closed`, `handler.socket`.
python-socketio's side (the packet hand-off) is in kraken.adapters.socketio.
"""
from __future__ import annotations

from functools import partial

import gevent
from engineio.async_drivers import gevent as gevent_driver
from geventwebsocket.websocket import Header, WebSocket

from kraken.adapters.socketio import send_eio_packets_through


class _FlushPacket:
    """Queued to wake a socket's writer for frames the kernel did not take: the writer passes
    `encode()` to our `send`, which writes what is pending and nothing else."""

    __slots__ = ()

    def encode(self, b64: bool = False):
        return _FLUSH


_FLUSH = object()


class DirectWebSocket(gevent_driver.WebSocketWSGI):
    """engine.io's gevent-websocket wrapper, plus frames `pending` a write, a `busy` flag (the
    writer is mid-write) and a non-blocking write. Registers itself on the engine.io socket it
    serves (its handler is that socket's bound method)."""

    def __init__(self, handler, server):
        super().__init__(handler, server)
        self.busy = False
        self.pending: list[bytes] = []
        owner = getattr(handler, "__self__", None)
        if owner is not None:
            owner.kraken_ws = self

    def send(self, message):
        """The writer's send: frames pending go first, so nothing it sends overtakes them."""
        self.busy = True
        try:
            if self.pending:
                data, self.pending = b"".join(self.pending), []
                self._sock.raw_write(data)
            if message is not _FLUSH:
                return super().send(message)
        finally:
            self.busy = False

    def write_nowait(self, data: bytes) -> bytes:
        """Write what the kernel takes now; returns the rest (all of it when the write would
        block or the socket is gone: the writer then writes it or finds the socket dead)."""
        ws = getattr(self, "_sock", None)
        handler = getattr(ws, "handler", None)
        if ws is None or ws.closed or handler is None or handler.socket is None:
            return data
        try:
            sent = handler.socket._sock.send(data)  # the OS socket: non-blocking under gevent
        except OSError:  # BlockingIOError included
            return data
        return data[sent:]


def _frame(pkt) -> bytes:
    """The websocket text frame of an engine.io packet, built on first use and kept on the packet
    (python-socketio makes one packet object per broadcast)."""
    frame = pkt.__dict__.get("_kraken_frame")
    if frame is None:
        payload = pkt.encode().encode("utf-8")
        header = Header.encode_header(True, WebSocket.OPCODE_TEXT, b"", len(payload), 0)
        frame = pkt._kraken_frame = header + payload
    return frame


class _Writes:
    """Frames waiting for the end of this turn of the event loop, then written with one `send()`
    per socket: broadcasts that happen in the same turn share a system call per recipient."""

    def __init__(self):
        self.sockets: list = []
        self.scheduled = False

    def add(self, sock, ws, frame: bytes) -> None:
        if not ws.pending:
            self.sockets.append((sock, ws))
        ws.pending.append(frame)
        if not self.scheduled:
            self.scheduled = True
            gevent.get_hub().loop.run_callback(self.flush)

    def flush(self) -> None:
        sockets, self.sockets, self.scheduled = self.sockets, [], False
        for sock, ws in sockets:
            if ws.pending and not ws.busy:
                data = ws.pending[0] if len(ws.pending) == 1 else b"".join(ws.pending)
                rest = ws.write_nowait(data)
                ws.pending = [rest] if rest else []
            if ws.pending and sock.queue.empty():
                sock.queue.put(_FlushPacket())  # wake the writer for what the kernel did not take


_writes = _Writes()


def send_packet(eio_server, eio_sid: str, pkt) -> None:
    """Deliver an engine.io packet to one socket: written at the end of this loop turn when the
    socket is an idle websocket and the packet is text, else through the socket's queue as engine.io
    does (its writer writes anything pending first)."""
    sock = eio_server.sockets.get(eio_sid)
    if sock is None or sock.closed:
        return eio_server.send_packet(eio_sid, pkt)  # engine.io logs and drops it
    ws = sock.__dict__.get("kraken_ws")
    if (ws is None or ws.busy or not sock.upgraded or sock.upgrading or pkt.binary
            or not sock.queue.empty()):
        return sock.send(pkt)
    if not sock.check_ping_timeout():
        return None  # engine.io is closing it, as its own send would
    _writes.add(sock, ws, _frame(pkt))
    return None


def install(sio_server) -> bool:
    """Write broadcasts directly on this Socket.IO server, when it runs on gevent-websocket."""
    eio = sio_server.eio
    if eio.async_mode != "gevent" or getattr(gevent_driver, "SimpleWebSocketWSGI", None) is not None:
        return False  # threading mode, or gevent without gevent-websocket (simple-websocket)
    eio._async = {**eio._async, "websocket": DirectWebSocket}
    send_eio_packets_through(sio_server, partial(send_packet, eio))
    return True
