"""Voice presence over Socket.IO against live servers: acks, room events, disconnects, a second
process sharing the same presence, and entries that expire without refreshes."""
from __future__ import annotations

import time

import pytest
import requests

from tests.live import LiveServer
from tests.realtime.conftest import live_env

SHORT_TTL = 3


@pytest.fixture(scope="module")
def short_ttl(settings, tmp_path_factory, live):
    """A second process on the same database and Redis, with a 3-second voice-presence TTL."""
    env = live_env(settings, tmp_path_factory, KRAKEN_VOICE_PRESENCE_TTL=str(SHORT_TTL))
    server = LiveServer(env, tmp_path_factory.mktemp("logs") / "short-ttl.log").start()
    yield server
    server.stop()


def rest(server, token: str, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, server.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=5, **kw)


def listed(server, token: str, channel) -> list[str]:
    response = rest(server, token, "GET", f"/api/channels/{channel.id}/voice-presence")
    assert response.status_code == 200, response.text
    return [u["id"] for u in response.json()["users"]]


def test_socket_join_state_refresh_leave_ack_and_reach_the_room(live, voice_world, in_rooms):
    w = voice_world
    bob, carol, dave = in_rooms("bob", "carol", "dave")
    cid = str(w.voice.id)

    assert bob.call("voice_channel_join", {"channelId": cid}) == {"success": True, "channelId": cid}
    joined = carol.wait_for("voiceChannelUserJoined")
    assert joined["channelId"] == cid and joined["user"]["id"] == str(w.bob.id)
    assert bob.wait_for("voiceChannelUserJoined")  # the sender's other tabs learn it too

    ack = bob.call("voice_state_update", {"channelId": cid, "isMuted": True, "isScreenSharing": True, "extra": "x"})
    assert ack == {"success": True, "channelId": cid, "updates": {"isMuted": True, "isScreenSharing": True}}
    updated = carol.wait_for("voiceChannelUserUpdated")
    assert updated["userId"] == str(w.bob.id) and updated["updates"] == {"isMuted": True, "isScreenSharing": True}
    assert updated["user"]["isMuted"] is True and "extra" not in updated["user"]

    assert bob.call("voice_presence_refresh", {"channelId": cid}) == {"success": True, "channelId": cid}
    assert listed(live, w.tokens["carol"], w.voice) == [str(w.bob.id)]

    assert bob.call("voice_channel_leave", {"channelId": cid}) == {"success": True, "channelId": cid}
    left = carol.wait_for("voiceChannelUserLeft")
    assert left == {"channelId": cid, "userId": str(w.bob.id), "user": left["user"]}
    assert left["user"]["username"] == "bob"
    assert listed(live, w.tokens["carol"], w.voice) == []
    for event in ("voiceChannelUserJoined", "voiceChannelUserUpdated", "voiceChannelUserLeft"):
        assert not dave.received(event)


@pytest.mark.parametrize("who, channel, payload, code", [
    ("bob", "text", None, "NOT_A_VOICE_CHANNEL"),
    ("carol", "private_voice", None, "NOT_FOUND"),
    ("dave", "voice", None, "NOT_A_MEMBER"),
    ("bob", None, {"channelId": {"$ne": None}}, "VALIDATION_FAILED"),
    ("bob", None, {"channelId": "nope"}, "INVALID_OBJECT_ID"),
])
def test_socket_join_is_refused_with_an_exception_and_no_ack(live, voice_world, sockets, who, channel, payload,
                                                             code):
    import socketio
    w = voice_world
    client = sockets(live.url, w.tokens[who])
    payload = payload or {"channelId": str(getattr(w, channel).id)}
    with pytest.raises(socketio.exceptions.TimeoutError):
        client.call("voice_channel_join", payload, timeout=1)
    error = client.wait_for("exception", lambda e: e["cause"]["pattern"] == "voice_channel_join")
    assert error["code"] == code
    assert rest(live, w.tokens["alice"], "GET", "/api/voice-presence/me").json()["voiceChannels"] == []
    for target in (w.voice, w.private_voice):
        assert listed(live, w.tokens["alice"], target) == []


def test_state_update_validates_booleans(live, voice_world, sockets):
    w = voice_world
    bob = sockets(live.url, w.tokens["bob"])
    bob.call("voice_channel_join", {"channelId": str(w.voice.id)})
    bob.emit("voice_state_update", {"channelId": str(w.voice.id), "isMuted": "true"})
    assert bob.wait_for("exception", lambda e: e["cause"]["pattern"] == "voice_state_update")["code"] == \
        "VALIDATION_FAILED"
    users = rest(live, w.tokens["bob"], "GET", f"/api/channels/{w.voice.id}/voice-presence").json()["users"]
    assert users[0]["isMuted"] is False


def test_presence_stays_while_another_socket_of_the_user_is_open(live, voice_world, sockets, in_rooms):
    w = voice_world
    (carol,) = in_rooms("carol")
    first = sockets(live.url, w.tokens["bob"])
    second = sockets(live.url, w.tokens["bob"])
    first.call("voice_channel_join", {"channelId": str(w.voice.id)})
    assert carol.wait_for("voiceChannelUserJoined")

    first.close()
    time.sleep(0.8)
    assert listed(live, w.tokens["carol"], w.voice) == [str(w.bob.id)]
    assert not carol.received("voiceChannelUserLeft")

    second.close()  # the last one: presence goes
    assert carol.wait_for("voiceChannelUserLeft", lambda e: e["userId"] == str(w.bob.id))
    assert listed(live, w.tokens["carol"], w.voice) == []


def test_a_second_process_sees_the_same_presence(live, short_ttl, voice_world, sockets, in_rooms):
    w = voice_world
    (carol_b,) = in_rooms("carol", url=short_ttl.url)       # process B
    bob_a = sockets(live.url, w.tokens["bob"])              # process A
    bob_a.call("voice_channel_join", {"channelId": str(w.voice.id)})
    assert carol_b.wait_for("voiceChannelUserJoined", lambda e: e["user"]["id"] == str(w.bob.id))
    assert listed(short_ttl, w.tokens["carol"], w.voice) == [str(w.bob.id)]
    me = rest(short_ttl, w.tokens["bob"], "GET", "/api/voice-presence/me").json()
    assert me["voiceChannels"] == [str(w.voice.id)]

    # a leave through process B is seen by process A
    assert rest(short_ttl, w.tokens["bob"], "DELETE", f"/api/channels/{w.voice.id}/voice-presence/leave").ok
    assert listed(live, w.tokens["alice"], w.voice) == []
    assert carol_b.wait_for("voiceChannelUserLeft")


def test_stale_entries_expire_and_are_announced_while_refreshed_ones_stay(short_ttl, voice_world, in_rooms):
    w = voice_world
    (carol,) = in_rooms("carol", url=short_ttl.url)
    for name in ("bob", "alice"):
        assert rest(short_ttl, w.tokens[name], "POST", f"/api/channels/{w.voice.id}/voice-presence/join").status_code \
            == 201
    started = time.monotonic()
    # alice keeps refreshing (the web client's heartbeat); bob goes silent
    while time.monotonic() - started < SHORT_TTL + 3:
        rest(short_ttl, w.tokens["alice"], "POST", f"/api/channels/{w.voice.id}/voice-presence/refresh")
        if carol.received("voiceChannelUserLeft"):
            break
        time.sleep(0.5)
    # nobody asked for the list: the sweeper announced bob's expiry
    left = carol.wait_for("voiceChannelUserLeft", timeout=SHORT_TTL + 3)
    assert left is not None and left["userId"] == str(w.bob.id)
    assert time.monotonic() - started >= SHORT_TTL - 0.5
    assert listed(short_ttl, w.tokens["carol"], w.voice) == [str(w.alice.id)]
    assert not carol.received("voiceChannelUserLeft", lambda e: e["userId"] == str(w.alice.id))


def test_polling_every_voice_channel_at_once_is_not_rate_limited(live, voice_world):
    """The live server runs with rate limits on; the web client polls each voice channel's list together."""
    from kraken.channels import service as channels
    w = voice_world
    extra = [channels.create(w.alice, w.club.id, name=f"voice-{i}", type="VOICE", is_private=False, description=None)
             for i in range(6)]
    statuses = [rest(live, w.tokens["alice"], "GET", f"/api/channels/{c.id}/voice-presence").status_code
                for c in [w.voice, w.private_voice, *extra]]
    assert statuses == [200] * 8
    burst = [rest(live, w.tokens["alice"], "GET", "/api/channels/" + str(w.text.id)).status_code for _ in range(105)]
    assert 429 in burst  # an ordinary route keeps the default limit for reads (100 in 10 s)


def test_voice_presence_stays_through_the_presence_grace_and_goes_after_it(settings, tmp_path_factory, voice_world,
                                                                           sockets, in_rooms, live):
    """A socket blip keeps the user online (KRAKEN_PRESENCE_GRACE) and in their voice channel; once the
    grace is over without a socket, both go."""
    w = voice_world
    graceful = LiveServer(live_env(settings, tmp_path_factory, KRAKEN_PRESENCE_GRACE="2"),
                          tmp_path_factory.mktemp("logs") / "voice-grace.log").start()
    try:
        (carol,) = in_rooms("carol")
        bob = sockets(graceful.url, w.tokens["bob"])
        bob.call("voice_channel_join", {"channelId": str(w.voice.id)})
        assert carol.wait_for("voiceChannelUserJoined", lambda e: e["user"]["id"] == str(w.bob.id))
        bob.close()
        time.sleep(1)
        assert listed(live, w.tokens["carol"], w.voice) == [str(w.bob.id)]  # within the grace
        assert not carol.received("voiceChannelUserLeft")
        assert carol.wait_for("voiceChannelUserLeft", lambda e: e["userId"] == str(w.bob.id), timeout=6)
        assert listed(live, w.tokens["carol"], w.voice) == []
    finally:
        graceful.stop()
