"""Moderation across two app processes sharing Redis (kraken-later-endpoints §13): a ban made on one
process takes the user's sockets on the other out of the community's rooms; a timeout set on one is
enforced by the other's `sendMessage`; the events reach the rooms the contract names."""
from __future__ import annotations

import requests

from kraken.memberships.models import Membership
from kraken.messages.models import Message
from kraken.realtime.rooms import channel_room, community_room
from tests.realtime.test_messaging_sockets import text
from tests.realtime.test_server_rooms import deaf, hears

TIMED_OUT = "You are timed out in this community. Time remaining: "


def _rest(server, club, who: str, method: str, path: str, **kw):
    return requests.request(method, server.url + path, headers={"Authorization": f"Bearer {club.tokens[who]}"},
                            timeout=10, **kw)


def _subscribed(sockets, server, club, who: str):
    client = sockets(server.url, club.tokens[who])
    client.emit("subscribeAll")
    assert hears(client, channel_room(club.general.id))
    return client


def test_a_ban_on_one_process_takes_the_users_sockets_on_the_other_out_of_the_rooms(live, live_b, sockets, community):
    club = community
    sender = _subscribed(sockets, live, club, "admin")             # process A
    banned = _subscribed(sockets, live_b, club, "member")          # process B
    witness = _subscribed(sockets, live_b, club, "nopc")           # process B, stays a member
    response = _rest(live, club, "admin", "POST", f"/api/moderation/ban/{club.id}/{club.member.id}",
                     json={"reason": "spam"})
    assert response.status_code == 200, response.text
    expected = {"communityId": str(club.id), "userId": str(club.member.id), "moderatorId": str(club.admin.id),
                "reason": "spam"}
    assert banned.wait_for("userBanned") == expected     # through the user's room
    assert witness.wait_for("userBanned") == expected    # through the community's
    message_id = sender.call("sendMessage", text("members only", club.general.id))
    assert witness.wait_for("newMessage", lambda p: p["message"]["id"] == message_id)
    assert deaf(banned, community_room(club.id)) and deaf(banned, channel_room(club.general.id), within=0.1)
    assert not banned.received("newMessage", lambda p: p["message"]["id"] == message_id)
    assert len(banned.received("userBanned")) == 1
    assert Membership.objects(community_id=club.id, user_id=club.member.id).count() == 0


def test_a_timeout_set_on_one_process_is_enforced_by_the_other(live, live_b, sockets, community):
    club = community
    member = _subscribed(sockets, live_b, club, "member")          # process B
    witness = _subscribed(sockets, live_b, club, "nopc")
    response = _rest(live, club, "mod", "POST", f"/api/moderation/timeout/{club.id}/{club.member.id}",
                     json={"durationSeconds": 120})              # process A
    assert response.status_code == 200, response.text
    timed = witness.wait_for("userTimedOut")
    assert timed["userId"] == str(club.member.id) and timed["durationSeconds"] == 120 and "reason" not in timed
    assert member.wait_for("userTimedOut")
    member.emit("sendMessage", text("still here?", club.general.id))
    refused = member.wait_for("exception")
    assert refused["message"] in {f"{TIMED_OUT}{n} seconds" for n in (119, 120)}
    assert refused["cause"] == {"pattern": "sendMessage"}
    assert Message.objects(channel_id=club.general.id).count() == 0
    assert _rest(live, club, "mod", "DELETE", f"/api/moderation/timeout/{club.id}/{club.member.id}").status_code == 200
    assert witness.wait_for("timeoutRemoved") == {"communityId": str(club.id), "userId": str(club.member.id),
                                                  "moderatorId": str(club.mod.id)}
    message_id = member.call("sendMessage", text("back", club.general.id))
    assert witness.wait_for("newMessage", lambda p: p["message"]["id"] == message_id)


def test_a_kick_and_a_moderators_delete_reach_the_rooms(live, live_b, sockets, community, factory):
    club = community
    kicked = _subscribed(sockets, live_b, club, "pcmember")
    witness = _subscribed(sockets, live, club, "nopc")
    message = factory.send(club.nopc, club.general, "to go")
    deleted = _rest(live_b, club, "mod", "DELETE", f"/api/moderation/message/{message.id}", json={"reason": "no"})
    assert deleted.status_code == 200
    gone = {"messageId": str(message.id), "channelId": str(club.general.id), "directMessageGroupId": None}
    assert witness.wait_for("deleteMessage") == gone and kicked.wait_for("deleteMessage") == gone
    assert _rest(live, club, "mod", "POST", f"/api/moderation/kick/{club.id}/{club.pcmember.id}").status_code == 200
    expected = {"communityId": str(club.id), "userId": str(club.pcmember.id), "moderatorId": str(club.mod.id)}
    assert kicked.wait_for("userKicked") == expected and witness.wait_for("userKicked") == expected
    assert deaf(kicked, channel_room(club.private.id)) and deaf(kicked, community_room(club.id), within=0.1)
