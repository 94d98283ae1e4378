"""python-socketio (pinned in requirements.txt): the privates Kraken's queue and fan-out rely on.

The Redis queue itself (kraken.realtime.queue) is written against `PubSubManager`'s documented
extension points, `_publish` and `_listen` ("implemented by the different subclasses that support
pub/sub backends"). What has no public hook is here, and tests/core/test_adapters.py checks its shape:
- `Server._send_eio_packet(eio_sid, eio_pkt)`: how a manager hands a broadcast's engine.io packet to
  one recipient; replaced per server by the direct websocket writer (kraken.adapters.engineio);
- `PubSubManager._handle_emit(message)`: called for every emit this process delivers, its own or one
  from the queue; `PubSubManager.deliverable(message)` below turns it into a filter (de-duplication);
- `BaseManager.rooms`, `callbacks`, `pending_connect`, `pending_disconnect`: the bookkeeping that
  `basic_disconnect` clears; ours finds a socket's rooms in a reverse index instead of scanning
  every room of the namespace (`get_rooms` and `basic_disconnect` are O(its rooms), not O(sockets)).
"""
from __future__ import annotations

from typing import Callable

import socketio


def send_eio_packets_through(sio_server, send: Callable) -> None:
    """Every engine.io packet a manager delivers to one recipient goes through `send(eio_sid, pkt)`."""
    sio_server._send_eio_packet = send


class PubSubManager(socketio.PubSubManager):
    """python-socketio's pub/sub manager with a delivery filter and a sid -> rooms index."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sid_rooms: dict[tuple[str, str], set] = {}  # (namespace, sid) -> the rooms it is in

    def deliverable(self, message: dict) -> bool:
        """Whether this process delivers an emit (`method: emit`) to its sockets; all by default."""
        return True

    def _handle_emit(self, message):
        if self.deliverable(message):
            super()._handle_emit(message)

    # rooms --------------------------------------------------------------------------------
    # python-socketio finds a socket's rooms by scanning every room of the namespace (each socket
    # has its own room, so that is O(sockets)) and copies the room table on every disconnect:
    # closing 5,000 sockets took 10 s, 58% of it there. A reverse index makes both O(its rooms).

    def basic_enter_room(self, sid, namespace, room, eio_sid=None):
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._sid_rooms.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid, namespace, room):
        super().basic_leave_room(sid, namespace, room)
        rooms = self._sid_rooms.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._sid_rooms[(namespace, sid)]

    def get_rooms(self, sid, namespace):
        return [room for room in self._sid_rooms.get((namespace, sid), ()) if room is not None]

    def basic_disconnect(self, sid, namespace, **kwargs):
        if namespace not in self.rooms:
            return
        for room in list(self._sid_rooms.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        # the rest is the base class's bookkeeping, unchanged
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if sid in pending.get(namespace, ()):
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]
