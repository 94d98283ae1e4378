"""Broadcasts serialised once per room: one websocket frame, written straight to every idle socket.

python-socketio encodes a room broadcast once, but engine.io then queues it on each recipient's
socket and wakes that socket's writer greenlet, which frames it and writes it: one queue hand-off,
two greenlet switches and one frame per recipient. That was three quarters of the server's time
in a 500-member fan-out. Server-to-client websocket frames are not masked, so every recipient's
frame is the same bytes: build it once and write it with one non-blocking `send()` to each
websocket whose engine.io queue is empty and whose writer is not in the middle of a write.

Order is kept: a socket with anything queued, or a writer mid-write, gets the packet through its
queue as before; a frame the kernel takes only in part has its rest queued first, for the writer
to finish before anything else. Sockets still on long-polling, upgrading, or closed take the
normal path too. Only the gevent-websocket driver is handled (what gunicorn runs); other async
modes keep engine.io's own path.
"""
from __future__ import annotations

from functools import partial

from engineio.async_drivers import gevent as gevent_driver
from geventwebsocket.websocket import Header, WebSocket


class _Rest(bytes):
    """The unsent end of a frame: written as it is, not framed again."""


class _RestPacket:
    """Queued on an engine.io socket; its writer passes `encode()` to our `send`, which writes it."""

    __slots__ = ("rest",)

    def __init__(self, rest: bytes):
        self.rest = _Rest(rest)

    def encode(self, b64: bool = False):
        return self.rest


class DirectWebSocket(gevent_driver.WebSocketWSGI):
    """engine.io's gevent-websocket wrapper, plus a `busy` flag (its writer is mid-write) and a
    non-blocking write. Registers itself on the engine.io socket it serves (its handler is that
    socket's bound method)."""

    def __init__(self, handler, server):
        super().__init__(handler, server)
        self.busy = False
        owner = getattr(handler, "__self__", None)
        if owner is not None:
            owner.kraken_ws = self

    def send(self, message):
        self.busy = True
        try:
            if isinstance(message, _Rest):
                return self._sock.raw_write(bytes(message))
            return super().send(message)
        finally:
            self.busy = False

    def write_nowait(self, frame: bytes) -> bytes | None:
        """Write what the kernel takes now: b"" when all of it, the rest when part of it, None when
        nothing was written (it would block, or the socket is gone)."""
        ws = getattr(self, "_sock", None)
        handler = getattr(ws, "handler", None)
        if ws is None or ws.closed or handler is None or handler.socket is None:
            return None
        try:
            sent = handler.socket._sock.send(frame)  # the OS socket: non-blocking under gevent
        except OSError:  # BlockingIOError included
            return None
        return frame[sent:] if sent else None


def _frame(pkt) -> bytes:
    """The websocket text frame of an engine.io packet, built on first use and kept on the packet
    (python-socketio makes one packet object per broadcast)."""
    frame = pkt.__dict__.get("_kraken_frame")
    if frame is None:
        payload = pkt.encode().encode("utf-8")
        header = Header.encode_header(True, WebSocket.OPCODE_TEXT, b"", len(payload), 0)
        frame = pkt._kraken_frame = header + payload
    return frame


def send_packet(eio_server, eio_sid: str, pkt) -> None:
    """Deliver an engine.io packet to one socket: written at once when the socket is an idle
    websocket and the packet is text, else through the socket's queue as engine.io does."""
    sock = eio_server.sockets.get(eio_sid)
    if sock is None or sock.closed:
        return eio_server.send_packet(eio_sid, pkt)  # engine.io logs and drops it
    ws = sock.__dict__.get("kraken_ws")
    if (ws is None or ws.busy or not sock.upgraded or sock.upgrading or pkt.binary
            or not sock.queue.empty()):
        return sock.send(pkt)
    if not sock.check_ping_timeout():
        return None  # engine.io is closing it, as its own send would
    rest = ws.write_nowait(_frame(pkt))
    if rest is None:
        sock.queue.put(pkt)  # the writer sends it, or finds the socket dead
    elif rest:
        sock.queue.put(_RestPacket(rest))
    return None


def install(sio_server) -> bool:
    """Write broadcasts directly on this Socket.IO server, when it runs on gevent-websocket."""
    eio = sio_server.eio
    if eio.async_mode != "gevent" or getattr(gevent_driver, "SimpleWebSocketWSGI", None) is not None:
        return False  # threading mode, or gevent without gevent-websocket (simple-websocket)
    eio._async = {**eio._async, "websocket": DirectWebSocket}
    sio_server._send_eio_packet = partial(send_packet, eio)
    return True
