"""A python-socketio test client that records what it receives."""
from __future__ import annotations

import threading
import time
from collections import defaultdict

import socketio


class SocketClient:
    """Connects like the web client: websocket transport, `auth.token = "Bearer <jwt>"`."""

    def __init__(self, url: str, token: str | None, transports=("websocket",)):
        self.url = url
        self.sio = socketio.Client(reconnection=False)
        self.events: dict[str, list] = defaultdict(list)
        self.cond = threading.Condition()
        self.sio.on("*", self._record)
        self.token = token
        self.transports = list(transports)

    def _record(self, event, *args):
        with self.cond:
            self.events[event].append(args[0] if len(args) == 1 else args)
            self.cond.notify_all()

    def connect(self) -> "SocketClient":
        auth = {"token": f"Bearer {self.token}"} if self.token else None
        self.sio.connect(self.url, auth=auth, transports=self.transports, wait_timeout=5)
        return self

    def call(self, event: str, data=None, timeout: float = 5):
        """Emit and wait for the ack; raises socketio.exceptions.TimeoutError when none comes."""
        return self.sio.call(event, data, timeout=timeout)

    def emit(self, event: str, data=None) -> None:
        self.sio.emit(event, data)

    def wait_for(self, event: str, predicate=lambda payload: True, timeout: float = 5):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for payload in self.events.get(event, []):
                    if predicate(payload):
                        return payload
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)

    def received(self, event: str, predicate=lambda payload: True) -> list:
        with self.cond:
            return [p for p in self.events.get(event, []) if predicate(p)]

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:
            pass

    @property
    def connected(self) -> bool:
        return self.sio.connected
