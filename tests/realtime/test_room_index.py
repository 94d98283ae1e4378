"""ReliableRedisManager keeps a sid -> rooms index (O(its rooms) disconnects and lookups instead of a
scan of every room); whatever the sequence of joins, leaves and disconnects, its room table and each
socket's rooms must be exactly what python-socketio's own manager computes."""
from __future__ import annotations

import socketio
from hypothesis import given, settings, strategies as st

from kraken.realtime.queue import ReliableRedisManager
from tests.conftest import REDIS_URL

NS = "/"
SIDS = [f"s{i}" for i in range(6)]
ROOMS = ["general", "voice", "community:1", "user-a"]

ops = st.lists(st.tuples(st.sampled_from(["connect", "enter", "leave", "disconnect", "close"]),
                         st.sampled_from(SIDS), st.sampled_from(ROOMS)), max_size=60)


def _apply(manager, connected: set, op: str, sid: str, room: str) -> None:
    if op == "connect" and sid not in connected:
        manager.basic_enter_room(sid, NS, None, eio_sid="e" + sid)
        manager.basic_enter_room(sid, NS, sid)
        connected.add(sid)
    elif op == "enter" and sid in connected:
        manager.basic_enter_room(sid, NS, room)
    elif op == "leave" and sid in connected:
        manager.basic_leave_room(sid, NS, room)
    elif op == "disconnect" and sid in connected:
        manager.basic_disconnect(sid, NS)
        connected.discard(sid)
    elif op == "close":
        manager.basic_close_room(room, NS)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_the_room_index_matches_python_socketio(sequence):
    ours = ReliableRedisManager(REDIS_URL, channel="kraken-test-room-index")
    stock = socketio.Manager()
    ours_connected, stock_connected = set(), set()
    for op, sid, room in sequence:
        _apply(ours, ours_connected, op, sid, room)
        _apply(stock, stock_connected, op, sid, room)
    assert {k: dict(v) for k, v in ours.rooms.get(NS, {}).items()} == \
        {k: dict(v) for k, v in stock.rooms.get(NS, {}).items()}
    for sid in SIDS:
        assert sorted(ours.get_rooms(sid, NS)) == sorted(stock.get_rooms(sid, NS))
    # a disconnected socket leaves nothing behind in the index
    assert {sid for _, sid in ours._sid_rooms} <= ours_connected


def test_move_sockets_moves_every_socket_of_the_selector_room_and_no_other():
    """Server-driven rooms (kraken.realtime.subscriptions): one queue message moves all of a user's
    sockets; here the local half (the other processes apply the same message from the queue)."""
    manager = ReliableRedisManager(REDIS_URL, channel="kraken-test-room-index")
    for sid, rooms in {"s0": ["user-a", "voice"], "s1": ["user-a"], "s2": ["user-b", "voice"]}.items():
        _apply(manager, set(), "connect", sid, "")
        for room in rooms:
            manager.basic_enter_room(sid, NS, room)
    manager.move_sockets("user-a", join=["community:1", "general"], leave=["voice"])
    assert sorted(manager.get_rooms("s0", NS)) == ["community:1", "general", "s0", "user-a"]
    assert sorted(manager.get_rooms("s1", NS)) == ["community:1", "general", "s1", "user-a"]
    assert sorted(manager.get_rooms("s2", NS)) == ["s2", "user-b", "voice"]
    manager.move_sockets("general", leave=["general"])  # a deleted channel: its room empties
    assert "general" not in manager.rooms[NS] and "general" not in manager.get_rooms("s0", NS)
    manager.move_sockets("nobody", join=["general"])  # an empty selector moves nothing
    assert "general" not in manager.rooms[NS]


def test_a_backfill_delivers_direct_messages_to_their_group_rooms(app, factory, monkeypatch):
    """After a lost subscription the process re-reads what was stored meanwhile: channel rooms get
    `newMessage`, `dm:<id>` rooms `newDirectMessage` (each message once)."""
    import time as _time

    from kraken.messages import service as messages
    from kraken.messages.schemas import DirectMessageIn
    factory.owner("root")
    alice, bob = factory.user("alice"), factory.user("bob")
    group = factory.dm(alice, bob)
    before = _time.time()
    sent = messages.send_direct(alice, DirectMessageIn.model_validate(
        {"directMessageGroupId": str(group.id), "spans": [{"type": "PLAINTEXT", "text": "while away"}]}))
    manager = ReliableRedisManager(REDIS_URL, channel="kraken-test-room-index")
    _apply(manager, set(), "connect", "s0", "")
    manager.basic_enter_room("s0", NS, f"dm:{group.id}")
    emitted = []
    monkeypatch.setattr(socketio.Manager, "emit", lambda self, event, data, namespace=None, room=None, **kw:
                        emitted.append((event, data["message"]["id"], room)))
    manager._backfill(before)
    manager._backfill(before)  # the second pass finds it seen
    assert emitted == [("newDirectMessage", str(sent.id), f"dm:{group.id}")]
