"""Authorization over Socket.IO: every client event × every principal → the expected outcome.

Outcome "ack" = acknowledged, "ok" = accepted without an exception, otherwise the `exception` code.
On every denial: no ack, the database is unchanged and a watcher in the rooms receives nothing.
Principals as in tests/rbac/test_authorization_matrix.py (an anonymous socket cannot connect at all).
"""
from __future__ import annotations

import time

import pytest
import socketio

from tests.factories import Factory, dump
from tests.realtime.sockets import SocketClient

PRINCIPALS = ("owner", "admin", "mod", "member", "pcmember", "nopc", "removed", "outsider")
NM, NF = "NOT_A_MEMBER", "NOT_FOUND"


def msg(channel: str) -> dict:
    return {"channelId": "{%s}" % channel, "spans": [{"type": "PLAINTEXT", "text": "matrix"}]}


def dm(group: str) -> dict:
    return {"directMessageGroupId": "{%s}" % group, "spans": [{"type": "PLAINTEXT", "text": "matrix"}]}


def reply(parent: str) -> dict:
    return {"parentMessageId": "{%s}" % parent, "spans": [{"type": "PLAINTEXT", "text": "matrix"}]}


# (event, payload, outcomes in PRINCIPALS order)
SOCKET_MATRIX = [
    ("joinAll", "{C}", ["ok"] * 6 + [NM, NM]),
    ("subscribeAll", None, ["ok"] * 8),
    ("joinRoom", "{G}", ["ok"] * 6 + [NM, NM]),
    ("joinRoom", "{P}", ["ok", "ok", NF, NF, "ok", NF, NF, NF]),
    ("leaveRoom", "{G}", ["ok"] * 8),
    ("presenceOnline", {}, ["ack"] * 8),
    ("sendMessage", msg("G"), ["ack"] * 6 + [NM, NM]),
    ("sendMessage", msg("P"), ["ack", "ack", NF, NF, "ack", NF, NF, NF]),
    ("typingStart", {"channelId": "{G}"}, ["ok"] * 6 + [NF, NF]),
    ("typingStop", {"channelId": "{P}"}, ["ok", "ok", NF, NF, "ok", NF, NF, NF]),
    ("addReaction", {"messageId": "{MG}", "emoji": "👍"}, ["ok"] * 6 + [NM, NM]),
    ("addReaction", {"messageId": "{MP}", "emoji": "👍"}, ["ok", "ok", NF, NF, "ok", NF, NF, NF]),
    ("removeReaction", {"messageId": "{MG}", "emoji": "👍"}, ["ok"] * 6 + [NM, NM]),
    # direct messages: membership is the only permission (DMG: admin, member, pcmember; DM: member, pcmember)
    ("sendDirectMessage", dm("DMG"), [NF, "ack", NF, "ack", "ack", NF, NF, NF]),
    ("sendDirectMessage", dm("DM"), [NF, NF, NF, "ack", "ack", NF, NF, NF]),
    ("typingStart", {"directMessageGroupId": "{DMG}"}, [NF, "ok", NF, "ok", "ok", NF, NF, NF]),
    ("addReaction", {"messageId": "{MD}", "emoji": "👍"}, [NF, "ok", NF, "ok", "ok", NF, NF, NF]),
    ("removeReaction", {"messageId": "{MD}", "emoji": "👍"}, [NF, "ok", NF, "ok", "ok", NF, NF, NF]),
    # read receipts: marking needs reading the conversation (no ack payload)
    ("markAsRead", {"lastReadMessageId": "{MG}", "channelId": "{G}"}, ["ok"] * 6 + [NM, NM]),
    ("markAsRead", {"lastReadMessageId": "{MP}", "channelId": "{P}"}, ["ok", "ok", NF, NF, "ok", NF, NF, NF]),
    ("markAsRead", {"lastReadMessageId": "{MD}", "directMessageGroupId": "{DMG}"},
     [NF, "ok", NF, "ok", "ok", NF, NF, NF]),
    # threads: replying needs what sending in the parent's channel or group needs
    ("sendThreadReply", reply("MG"), ["ack"] * 6 + [NM, NM]),
    ("sendThreadReply", reply("MP"), ["ack", "ack", NF, NF, "ack", NF, NF, NF]),
    ("sendThreadReply", reply("MD"), [NF, "ack", NF, "ack", "ack", NF, NF, NF]),
]
CASES = [(event, payload, who, outcome) for event, payload, row in SOCKET_MATRIX
         for who, outcome in zip(PRINCIPALS, row, strict=True)]


def _fill(community, value):
    if isinstance(value, str):
        return community.fill(value)
    if isinstance(value, dict):
        return {k: _fill(community, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(community, v) for v in value]
    return value


@pytest.fixture(scope="module")
def community(app):
    """One Club for the module, with a message in each channel, restored before each case."""
    from tests.conftest import _wipe
    _wipe()
    yield Factory(app).club().seed_messages().freeze()
    _wipe()


@pytest.fixture(autouse=True)
def clean_state():  # the Club is restored per case instead
    yield


@pytest.mark.parametrize("event, payload, principal, outcome", CASES,
                         ids=[f"{e} as {p}" for e, _, p, _ in CASES])
def test_socket_event_answers_each_principal_as_the_table_says(live, community, event, payload, principal, outcome):
    community.restore()
    watcher = SocketClient(live.url, community.tokens["admin"]).connect()
    client = SocketClient(live.url, community.tokens[principal]).connect()
    try:
        watcher.emit("joinAll", community.ids["C"])
        watcher.emit("subscribeAll")  # also the watcher's (admin's) dm:<DMG> room
        if event.startswith("typing"):
            client.emit("joinAll", community.ids["C"])
            if isinstance(payload, dict) and "directMessageGroupId" in payload:
                client.emit("subscribeAll")
        time.sleep(0.15)
        before = dump()
        acks: list = []
        client.sio.emit(event, _fill(community, payload), callback=lambda *args: acks.append(args))
        deadline = time.monotonic() + 3
        while not acks and not client.received("exception") and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # room for a second, wrong answer (an ack after an exception)
        acked = bool(acks)
        ack = acks[0][0] if acked and acks[0] else None
        error = client.wait_for("exception", lambda e: e["cause"]["pattern"] == event, timeout=0)
        if outcome in ("ack", "ok"):
            assert error is None, error
            assert acked
            if outcome == "ack":
                assert ack is not None
        else:
            assert error is not None and error["code"] == outcome, error
            assert not acked, "a rejected event must not be acknowledged"
            time.sleep(0.2)
            assert dump() == before, "a denied event changed the database"
            noise = {name: events for name, events in watcher.events.items()
                     if name in ("newMessage", "reactionAdded", "reactionRemoved", "userTyping",
                                 "newDirectMessage", "newThreadReply", "threadReplyCountUpdated",
                                 "readReceiptUpdated", "newNotification")}
            assert not noise, f"a denied event emitted {noise}"
    finally:
        client.close()
        watcher.close()


def test_anonymous_sockets_cannot_connect(live):
    with pytest.raises(socketio.exceptions.ConnectionError):
        SocketClient(live.url, None).connect()
