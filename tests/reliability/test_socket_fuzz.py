"""Hostile input over Socket.IO (reliability issue, item 5): Hypothesis-generated payloads for every
client event — wrong types, huge strings, deep nesting, `$`-operators, invalid ObjectIds, unicode
edge cases, zero-width-only text. Zero unhandled exceptions in the server log, zero accepted
operator payloads, and the server keeps answering."""
import json
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from kraken.messages.models import Message
from tests.live import LiveServer
from tests.realtime.conftest import live_env, token_for  # noqa: F401 - fixture
from tests.realtime.sockets import SocketClient

EVENTS = ["joinAll", "subscribeAll", "joinRoom", "leaveRoom", "presenceOnline", "sendMessage", "typingStart",
          "typingStop", "addReaction", "removeReaction", "voice_channel_join", "voice_channel_leave",
          "voice_state_update", "voice_presence_refresh", "noSuchEvent"]
EXAMPLES_PER_EVENT = 40
COUNTER = {"cases": 0}

weird_text = st.sampled_from(["", " ", "\u200b", "\u200b\u200d\ufeff", "\u202e", "\x00", "🦑" * 50, "a" * 70_000,
                              "$where", "{\"$gt\": \"\"}", "0" * 24, "z" * 24, "ObjectId('x')", "\ud800".encode(
                                  "utf-8", "surrogatepass").decode("utf-8", "replace")])
operator = st.sampled_from(["$ne", "$gt", "$where", "$regex", "$in", "$exists", "__raw__"])
leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63), st.floats(allow_nan=False),
                 st.text(max_size=40), weird_text)
json_values = st.recursive(leaf, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.one_of(st.text(max_size=10), operator), children,
                                                     max_size=4)), max_leaves=25)


@st.composite
def payloads(draw, ids):
    """Plausible-looking payloads with hostile parts, and plain garbage."""
    ident = draw(st.one_of(st.sampled_from(ids), weird_text, st.dictionaries(operator, leaf, max_size=2)))
    span = draw(st.one_of(
        st.fixed_dictionaries({"type": st.sampled_from(["PLAINTEXT", "USER_MENTION", "SPECIAL_MENTION", "BAD"]),
                               "text": st.one_of(weird_text, st.text(max_size=30), json_values),
                               "userId": st.one_of(st.none(), st.sampled_from(ids), json_values)}),
        json_values))
    shaped = {"channelId": ident, "communityId": ident, "messageId": ident, "emoji": draw(st.one_of(weird_text, leaf)),
              "spans": draw(st.one_of(st.lists(st.just(span), max_size=3), json_values)),
              "attachments": draw(st.one_of(st.just([]), json_values)), "nonce": draw(leaf),
              "isMuted": draw(leaf)}
    deep = draw(st.integers(min_value=0, max_value=1))
    if deep:
        nested: object = "x"
        for _ in range(200):
            nested = {"a": nested}
        shaped["spans"] = nested
    return draw(st.one_of(st.just(shaped), json_values, st.just(ident)))


@pytest.fixture(scope="module")
def fuzz_server(settings, tmp_path_factory, app):
    env = live_env(settings, tmp_path_factory, KRAKEN_RATE_LIMITS="false")
    srv = LiveServer(env, tmp_path_factory.mktemp("logs") / "fuzz.log").start()
    yield srv
    srv.stop()


def test_hostile_socket_payloads_never_break_the_server(fuzz_server, factory, token_for):
    factory.owner("root")
    alice = factory.user("alice")
    club = factory.community(alice, "Fuzz")
    general = factory.default_channel(club)
    seed = factory.message(general, alice, "seed")
    ids = [str(club.id), str(general.id), str(seed.id), str(alice.id), "000000000000000000000000"]
    client = SocketClient(fuzz_server.url, token_for(alice)).connect()
    client.emit("joinAll", str(club.id))
    lock = threading.Lock()

    for event in EVENTS:
        @hsettings(max_examples=EXAMPLES_PER_EVENT, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))
        @given(payload=payloads(ids))
        def one(payload):
            if not client.connected:  # an oversize frame may close it: reconnect and go on
                client.connect()
            answered = threading.Event()
            before = len(client.received("exception"))
            try:
                client.sio.emit(event, payload, callback=lambda *a: answered.set())
            except Exception:
                return  # the client itself refused to encode it
            deadline = time.monotonic() + 0.5  # answers come in milliseconds; unknown events get none
            while not answered.is_set() and len(client.received("exception")) == before \
                    and time.monotonic() < deadline and client.connected:
                time.sleep(0.005)
            with lock:
                COUNTER["cases"] += 1

        one()

    assert client.call("presenceOnline", {}) == "ACK"  # still answering
    client.close()
    log = fuzz_server.output()
    errors = [json.loads(line) for line in log.splitlines() if line.startswith("{") and '"level": "ERROR"' in line]
    assert not errors, errors[:3]
    assert "Traceback" not in log.replace('"exc_info"', "")
    for message in Message.objects:
        for span in message.spans:
            assert all(isinstance(v, str) for v in span.values()), span
            assert not any(k.startswith("$") for k in span)
    print(f"\nsocket fuzz: {COUNTER['cases']} generated cases over {len(EVENTS)} events")
    assert COUNTER["cases"] >= EXAMPLES_PER_EVENT * len(EVENTS) * 0.9
