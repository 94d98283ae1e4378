"""Broadcast frames written straight to idle websockets (kraken/adapters/engineio.py).

Real engine.io sockets and gevent-websocket websockets over a real socket pair; engine.io's own
websocket handler and writer greenlet run on the other end of the queue, as under gunicorn.
The peer end reads raw websocket frames (server frames are unmasked)."""
from __future__ import annotations

import logging
import socket
import struct
from types import SimpleNamespace

import engineio
import gevent
import pytest
import socketio
from engineio import packet as eio_packet
from gevent import socket as gsocket
from geventwebsocket.websocket import Stream, WebSocket

from kraken.adapters import engineio as frames


@pytest.fixture
def sio():
    server = socketio.Server(async_mode="gevent")
    assert frames.install(server)
    return server


def _tcp_pair():
    """Both ends of a loopback TCP connection (the kernel cuts writes to TCP sockets, not to Unix
    socket pairs). Segments of 1 KB, as on a real link: with loopback's 64 KB segments a 4 KB
    receive window reopens only on the sender's zero-window probes, seconds apart."""
    with gsocket.socket() as listener:
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        peer = gsocket.socket()
        peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
        peer.connect(listener.getsockname())
        ours, _ = listener.accept()
    return ours, peer


def _open(sio, sid: str, small_buffers: bool = False):
    """(engine.io socket, its websocket wrapper, the peer's OS socket), upgraded and idle."""
    ours, peer = _tcp_pair()
    if small_buffers:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock = engineio.socket.Socket(sio.eio, sid)
    sio.eio.sockets[sid] = sock
    handler = SimpleNamespace(socket=ours, rfile=ours.makefile("rb"), logger=logging.getLogger("test"),
                              server=SimpleNamespace(application=None))
    ws = sio.eio._async["websocket"](sock._websocket_handler, sio.eio)
    ws._sock = WebSocket({}, Stream(handler), handler)
    serving = gevent.spawn(sock._websocket_handler, ws)  # engine.io's handler: starts the writer
    gevent.sleep(0)
    assert sock.upgraded and sock.kraken_ws is ws
    return sock, ws, peer, serving


def _read_frames(peer, count: int, timeout: float = 10, pause: float = 0) -> list[str]:
    """`count` text frames from the raw stream, checking each header."""
    buffer, out = b"", []

    def need(n: int) -> bytes:
        nonlocal buffer
        while len(buffer) < n:
            chunk = peer.recv(4096)
            assert chunk, "the stream ended"
            buffer += chunk
            if pause:
                gevent.sleep(pause)
        taken, buffer = buffer[:n], buffer[n:]
        return taken

    with gevent.Timeout(timeout):
        for _ in range(count):
            first, second = need(2)
            assert first == 0x81 and not second & 0x80  # FIN + text, unmasked
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", need(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", need(8))[0]
            out.append(need(length).decode("utf-8"))
    return out


def _packet(text: str):
    return eio_packet.Packet(eio_packet.MESSAGE, text)


def test_only_gevent_websocket_servers_are_changed():
    threaded = socketio.Server(async_mode="threading")
    assert not frames.install(threaded)
    assert "_send_eio_packet" not in threaded.__dict__


def test_an_idle_websocket_gets_the_frame_at_once_and_each_recipient_the_same_bytes(sio):
    a, _, peer_a, _ = _open(sio, "ea")
    b, _, peer_b, _ = _open(sio, "eb")
    pkt = _packet('2["newMessage",{"message":{"id":"1","text":"héllo"}}]')
    for sid in ("ea", "eb"):
        sio._send_eio_packet(sid, pkt)
        assert sio.eio.sockets[sid].queue.empty()  # not handed to the writer: written this loop turn
    expected = ['42["newMessage",{"message":{"id":"1","text":"héllo"}}]']
    assert _read_frames(peer_a, 1) == _read_frames(peer_b, 1) == expected
    assert pkt._kraken_frame is frames._frame(pkt)  # framed once for every recipient


def test_broadcasts_of_one_loop_turn_share_a_write_per_socket(sio):
    sock, ws, peer, _ = _open(sio, "e1")
    writes = []
    real_write = ws.write_nowait
    ws.write_nowait = lambda data: writes.append(data) or real_write(data)
    for i in range(5):
        sio._send_eio_packet("e1", _packet(f'2["n",{i}]'))
    assert _read_frames(peer, 5) == [f'42["n",{i}]' for i in range(5)]
    assert len(writes) == 1 and sock.queue.empty()


@pytest.mark.parametrize("state", ["queued", "busy", "upgrading", "binary"])
def test_otherwise_the_packet_goes_through_the_queue_in_order(sio, state):
    sock, ws, peer, _ = _open(sio, "e1")
    pkt = _packet("2[\"x\",1]")
    if state == "queued":
        sock.queue.put(_packet("2[\"first\"]"))
    elif state == "busy":
        ws.busy = True
    elif state == "upgrading":
        sock.upgrading = True
    else:
        pkt = eio_packet.Packet(eio_packet.MESSAGE, b"\x01\x02")
    sio._send_eio_packet("e1", pkt)
    assert pkt in sock.queue.queue and "_kraken_frame" not in pkt.__dict__ and not ws.pending
    ws.busy = sock.upgrading = False
    if state == "queued":
        assert _read_frames(peer, 2) == ['42["first"]', '42["x",1]']


def test_order_and_integrity_hold_when_the_kernel_takes_part_of_a_frame(sio):
    """A reader too slow for its buffers: frames are cut by the kernel, the writer is mid-write
    while more broadcasts arrive, engine.io pings are queued in between. Every frame arrives whole
    and in order."""
    sock, ws, peer, _ = _open(sio, "e1", small_buffers=True)
    sent, blocked, direct = [], 0, 0
    for round_ in range(10):
        for i in range(20):
            n = round_ * 20 + i
            text = f'2["newMessage",{{"n":{n},"pad":"{"x" * (1500 + n)}"}}]'
            before = sock.queue.qsize()
            sio._send_eio_packet("e1", _packet(text))
            sent.append("4" + text)
            direct += sock.queue.qsize() == before
            if i == 10:
                sock.send(eio_packet.Packet(eio_packet.PING))  # engine.io's own packets keep their place
                sent.append("2")
        gevent.sleep(0.001)  # pending frames are written; the writer runs and blocks on the full buffer
        blocked += ws.busy
    assert direct > 0 and blocked > 0
    assert _read_frames(peer, len(sent), pause=0) == sent
    assert sock.queue.empty()


def test_a_dead_peer_closes_the_socket_without_an_error(sio):
    sock, _, peer, serving = _open(sio, "e1")
    peer.close()
    for i in range(50):
        sio._send_eio_packet("e1", _packet(f'2["n",{i}]'))
        gevent.sleep(0)
    sock.close(wait=False, abort=True)
    serving.join(timeout=5)
    assert serving.dead and sock.closed


def test_a_lone_frame_larger_than_the_buffers_arrives_whole(sio):
    """Nothing else is queued: the writer must be woken for what the kernel did not take."""
    sock, ws, peer, _ = _open(sio, "e1", small_buffers=True)
    text = '2["newMessage",{"pad":"' + "y" * 300_000 + '"}]'
    sio._send_eio_packet("e1", _packet(text))
    assert _read_frames(peer, 1) == ["4" + text]
    assert not ws.pending and sock.queue.empty()
