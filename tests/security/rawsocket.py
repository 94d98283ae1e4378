"""A Socket.IO client that writes raw frames: the packets no well-behaved client library would send.

Engine.IO 4 over a websocket: `0{...}` open, `2`/`3` ping/pong, `4<socket.io packet>` messages.
Socket.IO packets: `0{auth}` connect, `2[name, ...]` event, `2<id>[...]` event with an ack id,
`3<id>[...]` the server's ack.
"""
from __future__ import annotations

import json
import time

import websocket


class RawSocket:
    def __init__(self, base_url: str, token: str | None = None, connect_payload: str | None = None):
        url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, timeout=5)
        self.frames: list[str] = []  # every socket.io packet received, in order
        opened = self.ws.recv()
        assert opened.startswith("0{"), opened
        payload = connect_payload if connect_payload is not None else json.dumps({"token": f"Bearer {token}"})
        self.ws.send("40" + payload)
        self.connect_reply = self._next(lambda p: p.startswith(("0", "4")), timeout=5)

    @property
    def connected(self) -> bool:
        return bool(self.connect_reply) and self.connect_reply.startswith("0")

    def send(self, packet: str) -> None:
        """Send one socket.io packet (text after engine.io's `4`)."""
        self.ws.send("4" + packet)

    def send_engineio(self, frame: str) -> None:
        self.ws.send(frame)

    def _read(self, deadline: float) -> str | None:
        self.ws.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            frame = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        if frame == "2":  # engine.io ping
            self.ws.send("3")
            return None
        if isinstance(frame, str) and frame.startswith("4"):
            self.frames.append(frame[1:])
        return None

    def _next(self, predicate, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        seen = len(self.frames)
        while True:
            for packet in self.frames[seen:]:
                if predicate(packet):
                    return packet
            seen = len(self.frames)
            if time.monotonic() >= deadline:
                return None
            self._read(deadline)

    def wait_for(self, predicate, timeout: float = 5, since: int = 0) -> str | None:
        """The first packet from the `since`-th received on, now or within `timeout`, for which
        `predicate` holds."""
        for packet in self.frames[since:]:
            if predicate(packet):
                return packet
        return self._next(predicate, timeout)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read(deadline)

    def acks(self, ack_id: int) -> list[str]:
        return [p for p in self.frames if p.startswith(f"3{ack_id}[")]

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
