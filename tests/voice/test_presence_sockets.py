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


def test_socket_join_state_refresh_leave_ack_and_reach_the_room(live, voice_community, in_rooms):
    w = voice_community
    pcmember, member, outsider = in_rooms("pcmember", "member", "outsider")
    cid = str(w.voice.id)

    assert pcmember.call("voice_channel_join", {"channelId": cid}) == {"success": True, "channelId": cid}
    joined = member.wait_for("voiceChannelUserJoined")
    assert joined["channelId"] == cid and joined["user"]["id"] == str(w.pcmember.id)
    assert pcmember.wait_for("voiceChannelUserJoined")  # the sender's other tabs learn it too

    ack = pcmember.call("voice_state_update", {"channelId": cid, "isMuted": True, "isScreenSharing": True, "extra": "x"})
    assert ack == {"success": True, "channelId": cid, "updates": {"isMuted": True, "isScreenSharing": True}}
    updated = member.wait_for("voiceChannelUserUpdated")
    assert updated["userId"] == str(w.pcmember.id) and updated["updates"] == {"isMuted": True, "isScreenSharing": True}
    assert updated["user"]["isMuted"] is True and "extra" not in updated["user"]

    assert pcmember.call("voice_presence_refresh", {"channelId": cid}) == {"success": True, "channelId": cid}
    assert listed(live, w.tokens["member"], w.voice) == [str(w.pcmember.id)]

    assert pcmember.call("voice_channel_leave", {"channelId": cid}) == {"success": True, "channelId": cid}
    left = member.wait_for("voiceChannelUserLeft")
    assert left == {"channelId": cid, "userId": str(w.pcmember.id), "user": left["user"]}
    assert left["user"]["username"] == "pcmember"
    assert listed(live, w.tokens["member"], w.voice) == []
    for event in ("voiceChannelUserJoined", "voiceChannelUserUpdated", "voiceChannelUserLeft"):
        assert not outsider.received(event)


@pytest.mark.parametrize("who, channel, payload, code", [
    ("pcmember", "text", None, "NOT_A_VOICE_CHANNEL"),
    ("member", "private_voice", None, "NOT_FOUND"),
    ("outsider", "voice", None, "NOT_A_MEMBER"),
    ("pcmember", None, {"channelId": {"$ne": None}}, "VALIDATION_FAILED"),
    ("pcmember", None, {"channelId": "nope"}, "INVALID_OBJECT_ID"),
])
def test_socket_join_is_refused_with_an_exception_and_no_ack(live, voice_community, sockets, who, channel, payload,
                                                             code):
    import socketio
    w = voice_community
    client = sockets(live.url, w.tokens[who])
    payload = payload or {"channelId": str(getattr(w, channel).id)}
    with pytest.raises(socketio.exceptions.TimeoutError):
        client.call("voice_channel_join", payload, timeout=1)
    error = client.wait_for("exception", lambda e: e["cause"]["pattern"] == "voice_channel_join")
    assert error["code"] == code
    assert rest(live, w.tokens["admin"], "GET", "/api/voice-presence/me").json()["voiceChannels"] == []
    for target in (w.voice, w.private_voice):
        assert listed(live, w.tokens["admin"], target) == []


def test_state_update_validates_booleans(live, voice_community, sockets):
    w = voice_community
    pcmember = sockets(live.url, w.tokens["pcmember"])
    pcmember.call("voice_channel_join", {"channelId": str(w.voice.id)})
    pcmember.emit("voice_state_update", {"channelId": str(w.voice.id), "isMuted": "true"})
    assert pcmember.wait_for("exception", lambda e: e["cause"]["pattern"] == "voice_state_update")["code"] == \
        "VALIDATION_FAILED"
    users = rest(live, w.tokens["pcmember"], "GET", f"/api/channels/{w.voice.id}/voice-presence").json()["users"]
    assert users[0]["isMuted"] is False


def test_presence_stays_while_another_socket_of_the_user_is_open(live, voice_community, sockets, in_rooms):
    w = voice_community
    (member,) = in_rooms("member")
    first = sockets(live.url, w.tokens["pcmember"])
    second = sockets(live.url, w.tokens["pcmember"])
    first.call("voice_channel_join", {"channelId": str(w.voice.id)})
    assert member.wait_for("voiceChannelUserJoined")

    first.close()
    time.sleep(0.8)
    assert listed(live, w.tokens["member"], w.voice) == [str(w.pcmember.id)]
    assert not member.received("voiceChannelUserLeft")

    second.close()  # the last one: presence goes
    assert member.wait_for("voiceChannelUserLeft", lambda e: e["userId"] == str(w.pcmember.id))
    assert listed(live, w.tokens["member"], w.voice) == []


def test_a_second_process_sees_the_same_presence(live, short_ttl, voice_community, sockets, in_rooms):
    w = voice_community
    (member_b,) = in_rooms("member", url=short_ttl.url)       # process B
    pcmember_a = sockets(live.url, w.tokens["pcmember"])              # process A
    pcmember_a.call("voice_channel_join", {"channelId": str(w.voice.id)})
    assert member_b.wait_for("voiceChannelUserJoined", lambda e: e["user"]["id"] == str(w.pcmember.id))
    assert listed(short_ttl, w.tokens["member"], w.voice) == [str(w.pcmember.id)]
    me = rest(short_ttl, w.tokens["pcmember"], "GET", "/api/voice-presence/me").json()
    assert me["voiceChannels"] == [str(w.voice.id)]

    # a leave through process B is seen by process A
    assert rest(short_ttl, w.tokens["pcmember"], "DELETE", f"/api/channels/{w.voice.id}/voice-presence/leave").ok
    assert listed(live, w.tokens["admin"], w.voice) == []
    assert member_b.wait_for("voiceChannelUserLeft")


def test_stale_entries_expire_and_are_announced_while_refreshed_ones_stay(short_ttl, voice_community, in_rooms):
    w = voice_community
    (member,) = in_rooms("member", url=short_ttl.url)
    for name in ("pcmember", "admin"):
        assert rest(short_ttl, w.tokens[name], "POST", f"/api/channels/{w.voice.id}/voice-presence/join").status_code \
            == 201
    started = time.monotonic()
    # admin keeps refreshing (the web client's heartbeat); pcmember goes silent
    while time.monotonic() - started < SHORT_TTL + 3:
        rest(short_ttl, w.tokens["admin"], "POST", f"/api/channels/{w.voice.id}/voice-presence/refresh")
        if member.received("voiceChannelUserLeft"):
            break
        time.sleep(0.5)
    # nobody asked for the list: the sweeper announced pcmember's expiry
    left = member.wait_for("voiceChannelUserLeft", timeout=SHORT_TTL + 3)
    assert left is not None and left["userId"] == str(w.pcmember.id)
    assert time.monotonic() - started >= SHORT_TTL - 0.5
    assert listed(short_ttl, w.tokens["member"], w.voice) == [str(w.admin.id)]
    assert not member.received("voiceChannelUserLeft", lambda e: e["userId"] == str(w.admin.id))


def test_polling_every_voice_channel_at_once_is_not_rate_limited(live, voice_community, factory):
    """The live server runs with rate limits on; the web client polls each voice channel's list together."""
    w = voice_community
    extra = [factory.channel(w, w.admin, f"voice-{i}", type="VOICE") for i in range(6)]
    statuses = [rest(live, w.tokens["admin"], "GET", f"/api/channels/{c.id}/voice-presence").status_code
                for c in [w.voice, w.private_voice, *extra]]
    assert statuses == [200] * 8
    burst = [rest(live, w.tokens["admin"], "GET", "/api/channels/" + str(w.text.id)).status_code for _ in range(105)]
    assert 429 in burst  # an ordinary route keeps the default limit for reads (100 in 10 s)


def test_voice_presence_stays_through_the_presence_grace_and_goes_after_it(settings, tmp_path_factory, voice_community,
                                                                           sockets, in_rooms, live):
    """A socket blip keeps the user online (KRAKEN_PRESENCE_GRACE) and in their voice channel; once the
    grace is over without a socket, both go."""
    w = voice_community
    graceful = LiveServer(live_env(settings, tmp_path_factory, KRAKEN_PRESENCE_GRACE="2"),
                          tmp_path_factory.mktemp("logs") / "voice-grace.log").start()
    try:
        (member,) = in_rooms("member")
        pcmember = sockets(graceful.url, w.tokens["pcmember"])
        pcmember.call("voice_channel_join", {"channelId": str(w.voice.id)})
        assert member.wait_for("voiceChannelUserJoined", lambda e: e["user"]["id"] == str(w.pcmember.id))
        pcmember.close()
        time.sleep(1)
        assert listed(live, w.tokens["member"], w.voice) == [str(w.pcmember.id)]  # within the grace
        assert not member.received("voiceChannelUserLeft")
        assert member.wait_for("voiceChannelUserLeft", lambda e: e["userId"] == str(w.pcmember.id), timeout=6)
        assert listed(live, w.tokens["member"], w.voice) == []
    finally:
        graceful.stop()
