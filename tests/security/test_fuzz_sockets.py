"""Hostile payloads against every Socket.IO event (hypothesis), on the wire of a live gevent server:
deep, duplicated, oversized, wide and non-JSON payloads, unreadable packets and connect payloads are
refused by the one parser (kraken.realtime.packets) with the `exception` event (VALIDATION_FAILED or
PAYLOAD_TOO_LARGE), never acknowledged, the connection stays up, the database does not change, and
the server logs no error."""
from __future__ import annotations

import itertools
import json
import time
import zlib

from hypothesis import HealthCheck, Phase, example, given, seed, settings as hypothesis_settings

from kraken.auth.service import start_session
from kraken.realtime import names
from kraken.realtime.packets import CONNECT_BYTES, EVENT_BYTES, UNREADABLE_EVENT
from tests.factories import dump
from tests.security.hostile import hostile_bodies
from tests.security.rawsocket import RawSocket

CLIENT_EVENTS = [names.JOIN_ALL, names.SUBSCRIBE_ALL, names.JOIN_ROOM, names.LEAVE_ROOM, names.PRESENCE_ONLINE,
                 names.SEND_MESSAGE, names.SEND_DM, names.ADD_REACTION, names.REMOVE_REACTION, names.TYPING_START,
                 names.TYPING_STOP, names.VOICE_CHANNEL_JOIN, names.VOICE_CHANNEL_LEAVE, names.VOICE_STATE_UPDATE,
                 names.VOICE_PRESENCE_REFRESH, "someEventNobodyHandles"]
EXAMPLES_PER_EVENT = 30
REFUSED_CODES = {"VALIDATION_FAILED", "PAYLOAD_TOO_LARGE"}
# socket.io packets no client library would write, and the event name the refusal is reported for
GARBAGE = [("2{}", UNREADABLE_EVENT), ("2[]", UNREADABLE_EVENT), ("2[1]", UNREADABLE_EVENT),
           ('2[{"a":1}]', UNREADABLE_EVENT), ("2null", UNREADABLE_EVENT), ('4{"message":"x"}', UNREADABLE_EVENT),
           ("9x", UNREADABLE_EVENT), ("2" + "[" * 5000, UNREADABLE_EVENT), ("27" + "{" * 40, UNREADABLE_EVENT),
           ('5999999999999-["e"]', UNREADABLE_EVENT), ("[" * 30, UNREADABLE_EVENT), ('2"str"', UNREADABLE_EVENT),
           ('511-["e",1]', "e"), ('2["sendMessage",', "sendMessage"), ("", UNREADABLE_EVENT)]
_ids = itertools.count(100)


def _probe(sock: RawSocket) -> None:
    """The connection still answers: presenceOnline is acknowledged with "ACK"."""
    ack_id, since = next(_ids), len(sock.frames)
    sock.send(f'2{ack_id}["{names.PRESENCE_ONLINE}",{{}}]')
    assert sock.wait_for(lambda p: p.startswith(f"3{ack_id}["), since=since) == f'3{ack_id}["ACK"]'


def _refused(sock: RawSocket, packet: str, pattern: str) -> dict:
    """Send `packet`; the `exception` event for `pattern` that answers it."""
    since = len(sock.frames)
    sock.send(packet)
    found = sock.wait_for(lambda p: p.startswith('2["exception"') and json.loads(p[1:])[1]["cause"]["pattern"]
                          == pattern, since=since)
    assert found is not None, f"no exception for {packet[:120]!r}"
    return json.loads(found[1:])[1]


def _log_errors(output: str) -> list[str]:
    bad = ("Traceback", "socket event failed", "handler error", "INTERNAL_ERROR", '"level": "ERROR"')
    return [line for line in output.splitlines() if any(b in line for b in bad)]


def test_every_event_refuses_every_class_of_hostile_payload(gevent_server, app, community):
    sock = RawSocket(gevent_server.url, community.tokens["owner"])
    assert sock.connected, sock.connect_reply
    log_start = len(gevent_server.output())
    classes: dict[str, int] = {}
    codes: dict[str, int] = {}
    hostile_ids: list[int] = []
    started = time.monotonic()
    try:
        for event in CLIENT_EVENTS:
            before = dump()

            @seed(zlib.crc32(event.encode()))
            @hypothesis_settings(max_examples=EXAMPLES_PER_EVENT, deadline=None, database=None,
                                 phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(payload=hostile_bodies(EVENT_BYTES, object_required=False))
            @example(payload=("deep", "[" * 10_000))
            @example(payload=("duplicated", '{"channelId":"%s","channelId":"x"}' % community.ids["G"]))
            @example(payload=("oversized", '"' + "x" * EVENT_BYTES + '"'))
            def run(payload):
                kind, text = payload
                classes[kind] = classes.get(kind, 0) + 1
                ack_id = next(_ids)
                hostile_ids.append(ack_id)
                error = _refused(sock, f'2{ack_id}["{event}",{text}]', event)
                assert error["code"] in REFUSED_CODES, error
                codes[error["code"]] = codes.get(error["code"], 0) + 1
                _probe(sock)

            run()
            assert dump() == before, f"{event}: a refused payload changed the database"
        for packet, pattern in GARBAGE:
            error = _refused(sock, packet, pattern)
            assert error["code"] == "VALIDATION_FAILED", (packet, error)
            classes["unreadable packet"] = classes.get("unreadable packet", 0) + 1
            _probe(sock)
        sock.drain(0.5)
        assert not [i for i in hostile_ids if sock.acks(i)], "a refused event was acknowledged"
    finally:
        sock.close()
    total = sum(classes.values())
    print(f"hostile socket payloads: {total} cases over {len(CLIENT_EVENTS)} events in "
          f"{time.monotonic() - started:.0f} s; classes {classes}; codes {codes}; 0 server errors")
    assert all(classes.get(kind, 0) > len(CLIENT_EVENTS) for kind in ("deep", "duplicated", "oversized", "not-json"))
    assert not _log_errors(gevent_server.output()[log_start:])


def test_hostile_connect_payloads_are_refused_connections(gevent_server, app, factory):
    owner = factory.owner("owner")
    token, other = start_session(owner).access_token, start_session(owner).access_token
    log_start = len(gevent_server.output())
    hostile = {
        "deep": '{"token":' + "[" * 5000 + "]" * 5000 + "}",
        # the last copy is a valid token: a parser that kept it would let this in
        "duplicated": json.dumps({"token": "Bearer nope"})[:-1] + f', "token": "Bearer {token}"}}',
        "oversized": json.dumps({"token": f"Bearer {token}", "pad": "x" * CONNECT_BYTES}),
        "NaN": '{"token": NaN}',
        "lone surrogate": '{"token": "\\ud800"}',
        "not JSON": '{"token": "Bearer ' + other,
    }
    for kind, payload in hostile.items():
        sock = RawSocket(gevent_server.url, connect_payload=payload)
        try:
            assert sock.connect_reply == '4{"message":"AUTH_FAILED"}', (kind, sock.connect_reply)
        finally:
            sock.close()
    good = RawSocket(gevent_server.url, token)
    try:
        assert good.connected
        _probe(good)
    finally:
        good.close()
    assert not _log_errors(gevent_server.output()[log_start:])
