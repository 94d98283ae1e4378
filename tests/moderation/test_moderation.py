"""Moderation routes (kraken-later-endpoints §12, §13; docs/decisions/0053-moderation.md): bans, kicks,
timeouts and their enforcement, the role hierarchy, the moderator's delete and the log."""
from __future__ import annotations

from datetime import timedelta

import pytest

from kraken.channel_memberships.models import ChannelMembership
from kraken.common.time import utcnow
from kraken.invites.models import Invite
from kraken.memberships.models import Membership
from kraken.messages.models import Message
from kraken.messages.schemas import DirectMessageIn
from kraken.moderation.models import CommunityBan, CommunityTimeout, ModerationLog, member_key
from kraken.rbac import rules
from kraken.rbac.grants import community_grant
from kraken.roles.models import UserRole
from kraken.threads import service as threads
from kraken.threads.schemas import ThreadReplyIn
from kraken.errors import ForbiddenError
from kraken.messages import service as messages

TIMED_OUT = "You are timed out in this community. Time remaining: "


def _text(text="hello"):
    return [{"type": "PLAINTEXT", "text": text}]


def _logs(club, **filters):
    return list(ModerationLog.objects(community_id=club.id, **filters).order_by("id"))  # written in this order


def _is_member(club, user) -> bool:
    return Membership.objects(community_id=club.id, user_id=user.id).count() > 0


# --- bans ---------------------------------------------------------------------------------------

def test_a_ban_removes_membership_channel_memberships_and_roles_and_is_logged_once(community):
    club = community
    assert ChannelMembership.objects(user_id=club.pcmember.id).count() == 1
    response = club.api("admin").post(f"/api/moderation/ban/{club.id}/{club.pcmember.id}",
                                      json={"reason": "spam"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"success": True, "message": "User banned successfully"}
    assert not _is_member(club, club.pcmember)
    assert ChannelMembership.objects(user_id=club.pcmember.id).count() == 0
    assert UserRole.objects(user_id=club.pcmember.id, community_id=club.id).count() == 0
    ban = CommunityBan.objects(id=member_key(club.id, club.pcmember.id)).get()
    assert ban.active and ban.expires_at is None and ban.reason == "spam" and ban.moderator_id == club.admin.id
    [entry] = _logs(club)
    assert (entry.action, entry.target_user_id, entry.moderator_id, entry.reason) == \
        ("BAN_USER", club.pcmember.id, club.admin.id, "spam")
    listed = club.api("mod").get(f"/api/moderation/bans/{club.id}")
    assert listed.status_code == 200
    [item] = listed.get_json()
    assert item["userId"] == str(club.pcmember.id) and item["active"] is True and item["expiresAt"] is None
    assert item["user"]["username"] == "pcmember" and item["moderator"]["username"] == "admin"
    assert set(item) >= {"id", "communityId", "moderatorId", "reason", "createdAt"}


def test_a_banned_user_cannot_rejoin_by_any_path_until_unbanned(community, factory):
    club = community
    assert club.api("admin").post(f"/api/moderation/ban/{club.id}/{club.member.id}").status_code == 200
    again = club.api("admin").post("/api/membership", json={"userId": str(club.member.id), "communityId": str(club.id)})
    assert again.status_code == 403 and again.get_json()["code"] == "BANNED"
    code = club.community_invite.code
    uses = Invite.objects(code=code).get().uses
    redeemed = club.api("member").post(f"/api/invite/{code}/redeem")
    assert redeemed.status_code == 403 and redeemed.get_json()["message"] == "You are banned from this community"
    assert Invite.objects(code=code).get().uses == uses  # the invite was not spent
    # an invite into two communities joins the one that does not ban
    both = factory.invite(community_ids=[club.id, club.elsewhere.id], scope="COMMUNITY")
    joined = club.api("member").post(f"/api/invite/{both.code}/redeem")
    assert joined.status_code == 200 and joined.get_json()["joinedCommunityIds"] == [str(club.elsewhere.id)]
    assert not _is_member(club, club.member)
    # unban: 404 for a user without a ban, then the join works
    assert club.api("admin").delete(f"/api/moderation/ban/{club.id}/{club.nopc.id}").status_code == 404
    lifted = club.api("admin").delete(f"/api/moderation/ban/{club.id}/{club.member.id}", json={"reason": "ok"})
    assert lifted.status_code == 200 and lifted.get_json()["message"] == "User unbanned successfully"
    assert club.api("admin").get(f"/api/moderation/bans/{club.id}").get_json() == []
    assert club.api("member").post(f"/api/invite/{code}/redeem").status_code == 200
    assert _is_member(club, club.member)
    assert [e.action for e in _logs(club)] == ["BAN_USER", "UNBAN_USER"]


def test_a_ban_ends_at_its_expiry_without_a_job(community):
    club = community
    later = (utcnow() + timedelta(hours=1)).isoformat()
    response = club.api("admin").post(f"/api/moderation/ban/{club.id}/{club.member.id}", json={"expiresAt": later})
    assert response.status_code == 200
    [item] = club.api("admin").get(f"/api/moderation/bans/{club.id}").get_json()
    assert item["expiresAt"].startswith(later[:19])
    assert club.api("member").post(f"/api/invite/{club.community_invite.code}/redeem").status_code == 403
    # the hour has passed (the record is untouched otherwise: nothing lifts it but the clock)
    CommunityBan.objects(id=member_key(club.id, club.member.id)).update_one(
        set__expires_at=utcnow() - timedelta(seconds=1))
    assert club.api("admin").get(f"/api/moderation/bans/{club.id}").get_json() == []
    assert club.api("admin").delete(f"/api/moderation/ban/{club.id}/{club.member.id}").status_code == 404
    assert club.api("member").post(f"/api/invite/{club.community_invite.code}/redeem").status_code == 200
    # and a new ban replaces the expired record
    assert club.api("admin").post(f"/api/moderation/ban/{club.id}/{club.member.id}").status_code == 200
    assert CommunityBan.objects(id=member_key(club.id, club.member.id)).get().expires_at is None


@pytest.mark.parametrize("body, status", [
    ({"expiresAt": "2001-01-01T00:00:00Z"}, 400), ({"expiresAt": "soon"}, 400), ({"expiresAt": 5}, 400),
    ({"reason": 5}, 400), ({"reason": "x" * 501}, 400), ([], 400), ({"reason": "fine", "extra": 1}, 200)])
def test_ban_bodies(community, body, status):
    response = community.api("admin").post(f"/api/moderation/ban/{community.id}/{community.member.id}", json=body)
    assert response.status_code == status, response.get_json()
    assert CommunityBan.objects.count() == (1 if status == 200 else 0)


def test_ban_errors(community, factory):
    club, admin = community, community.api("admin")
    assert admin.post(f"/api/moderation/ban/{club.id}/{'0' * 24}").status_code == 404  # no such user
    assert admin.post(f"/api/moderation/ban/{club.id}/nope").status_code == 400
    assert community.api("owner").post(f"/api/moderation/ban/{'0' * 24}/{club.member.id}").status_code == 404
    assert admin.post(f"/api/moderation/ban/{club.id}/{club.member.id}").status_code == 200
    second = admin.post(f"/api/moderation/ban/{club.id}/{club.member.id}")
    assert second.status_code == 409 and second.get_json()["message"] == "User is already banned"
    # a user who already left can be banned: no dodging a ban by leaving first
    assert admin.post(f"/api/moderation/ban/{club.id}/{club.removed.id}").status_code == 200
    assert len(_logs(club, action="BAN_USER")) == 2


# --- the hierarchy -------------------------------------------------------------------------------

def test_the_role_hierarchy_decides_who_may_act_on_whom(community, factory):
    club = community
    enforcer = factory.role(club.doc, "Enforcer", ["BAN_USER", "KICK_USER", "TIMEOUT_USER"])
    factory.assign(club.nopc, enforcer)  # a custom role counts as a Member's (10)
    nopc = club.api("nopc")
    refused = nopc.post(f"/api/moderation/ban/{club.id}/{club.member.id}")
    assert refused.status_code == 403 and refused.get_json()["message"] == "Cannot ban a user with equal or higher role"
    assert nopc.post(f"/api/moderation/kick/{club.id}/{club.mod.id}").status_code == 403
    assert nopc.post(f"/api/moderation/ban/{club.id}/{club.removed.id}").status_code == 200  # no role: 0
    mod = club.api("mod")
    assert mod.post(f"/api/moderation/timeout/{club.id}/{club.admin.id}", json={"durationSeconds": 60}).status_code == 403
    assert mod.post(f"/api/moderation/kick/{club.id}/{club.mod.id}").get_json()["message"] == "You cannot kick yourself"
    assert mod.post(f"/api/moderation/timeout/{club.id}/{club.member.id}", json={"durationSeconds": 60}).status_code == 200
    # the instance owner: above everyone, but nobody acts on an owner (another owner included), nor on themself
    factory.member(club.owner, club.doc)
    on_owner = club.api("admin").post(f"/api/moderation/kick/{club.id}/{club.owner.id}")
    assert on_owner.status_code == 403 and on_owner.get_json()["message"] == "Cannot kick an instance owner"
    assert club.api("owner").post(f"/api/moderation/ban/{club.id}/{club.owner.id}").status_code == 403
    # the owner outranks the Community Admin (the last one stays: 409), then a second admin is banned
    last = club.api("owner").post(f"/api/moderation/ban/{club.id}/{club.admin.id}")
    assert last.status_code == 409 and last.get_json()["code"] == "LAST_ADMIN"
    factory.assign(club.pcmember, club.roles["Community Admin"])
    assert club.api("owner").post(f"/api/moderation/ban/{club.id}/{club.pcmember.id}").status_code == 200
    assert [e.action for e in _logs(club)] == ["BAN_USER", "TIMEOUT_USER", "BAN_USER"]
    assert CommunityBan.objects(id=member_key(club.id, club.admin.id)).count() == 0


# --- kicks ---------------------------------------------------------------------------------------

def test_a_kicked_member_is_removed_and_may_come_back_with_an_invite(community):
    club = community
    response = club.api("mod").post(f"/api/moderation/kick/{club.id}/{club.pcmember.id}", json={"reason": "cool off"})
    assert response.status_code == 200 and response.get_json()["message"] == "User kicked successfully"
    assert not _is_member(club, club.pcmember) and ChannelMembership.objects(user_id=club.pcmember.id).count() == 0
    [entry] = _logs(club)
    assert (entry.action, entry.reason) == ("KICK_USER", "cool off")
    again = club.api("mod").post(f"/api/moderation/kick/{club.id}/{club.pcmember.id}")
    assert again.status_code == 404 and again.get_json()["message"] == "User is not a member of this community"
    assert club.api("mod").post(f"/api/moderation/kick/{club.id}/{'0' * 24}").status_code == 404
    assert club.api("pcmember").post(f"/api/invite/{club.community_invite.code}/redeem").status_code == 200
    assert _is_member(club, club.pcmember)
    assert len(_logs(club)) == 1


# --- timeouts ------------------------------------------------------------------------------------

@pytest.mark.parametrize("duration, status", [(59, 400), (60, 200), (2419200, 200), (2419201, 400), ("60", 400),
                                              (60.5, 400), (None, 400), (True, 400)])
def test_timeout_durations(community, duration, status):
    body = {} if duration is None else {"durationSeconds": duration}
    response = community.api("mod").post(f"/api/moderation/timeout/{community.id}/{community.member.id}", json=body)
    assert response.status_code == status, response.get_json()
    assert CommunityTimeout.objects.count() == (1 if status == 200 else 0)


def test_a_timed_out_member_cannot_send_edit_or_react_until_it_is_removed(community, factory):
    club = community
    own = factory.send(club.member, club.general, "before")
    member = club.api("member")
    response = club.api("mod").post(f"/api/moderation/timeout/{club.id}/{club.member.id}",
                                    json={"durationSeconds": 600, "reason": "calm"})
    assert response.status_code == 200 and response.get_json()["message"] == "User timed out successfully"
    status = club.api("nopc").get(f"/api/moderation/timeout-status/{club.id}/{club.member.id}").get_json()
    assert status["isTimedOut"] is True and status["expiresAt"] > utcnow().isoformat()[:19]
    assert club.api("nopc").get(f"/api/moderation/timeout-status/{club.id}/{club.nopc.id}").get_json() == \
        {"isTimedOut": False}
    [listed] = club.api("mod").get(f"/api/moderation/timeouts/{club.id}").get_json()
    assert listed["userId"] == str(club.member.id) and listed["reason"] == "calm" and listed["user"]["username"] == "member"

    sent = member.post("/api/messages", json={"channelId": str(club.general.id), "spans": _text()})
    assert sent.status_code == 403
    assert sent.get_json()["message"] in {f"{TIMED_OUT}{n} seconds" for n in (599, 600)}
    assert sent.get_json()["code"] == "TIMED_OUT"
    edited = member.patch(f"/api/messages/{own.id}", json={"spans": _text("changed")})
    assert edited.status_code == 403 and edited.get_json()["message"].startswith(TIMED_OUT)
    reacted = member.post("/api/messages/reactions", json={"messageId": str(own.id), "emoji": "x"})
    assert reacted.status_code == 403 and reacted.get_json()["message"].startswith(TIMED_OUT)
    with pytest.raises(ForbiddenError, match="timed out"):
        threads.reply(club.member, ThreadReplyIn.model_validate({"parentMessageId": str(own.id), "spans": _text()}))
    # direct messages and other communities are not the community's
    messages.send_direct(club.member, DirectMessageIn.model_validate(
        {"directMessageGroupId": str(club.dm.id), "spans": _text()}))
    assert Message.objects(channel_id=club.general.id).count() == 1
    assert member.delete(f"/api/messages/{own.id}").status_code == 204  # deleting one's own stays allowed

    removed = club.api("mod").delete(f"/api/moderation/timeout/{club.id}/{club.member.id}", json={"reason": "ok"})
    assert removed.status_code == 200 and removed.get_json()["message"] == "Timeout removed successfully"
    assert member.post("/api/messages", json={"channelId": str(club.general.id), "spans": _text()}).status_code == 201
    again = club.api("mod").delete(f"/api/moderation/timeout/{club.id}/{club.member.id}")
    assert again.status_code == 404 and again.get_json()["message"] == "User is not timed out"
    assert club.api("mod").get(f"/api/moderation/timeouts/{club.id}").get_json() == []
    assert [e.action for e in _logs(club)] == ["TIMEOUT_USER", "REMOVE_TIMEOUT"]
    [first] = _logs(club, action="TIMEOUT_USER")
    assert first.metadata["durationSeconds"] == 600


def test_a_timeout_ends_exactly_at_its_expiry(community, monkeypatch):
    club = community
    assert club.api("mod").post(f"/api/moderation/timeout/{club.id}/{club.member.id}",
                                json={"durationSeconds": 60}).status_code == 200
    expires = CommunityTimeout.objects.get().expires_at.timestamp()
    assert community_grant(club.member, club.id).timed_out_until == expires
    body = {"channelId": str(club.general.id), "spans": _text()}
    monkeypatch.setattr(rules.time, "time", lambda: expires - 0.001)
    refused = club.api("member").post("/api/messages", json=body)
    assert refused.status_code == 403 and refused.get_json()["message"] == f"{TIMED_OUT}1 seconds"
    monkeypatch.setattr(rules.time, "time", lambda: expires)  # nothing written in between: the clock alone
    assert club.api("member").post("/api/messages", json=body).status_code == 201
    assert club.api("nopc").get(f"/api/moderation/timeout-status/{club.id}/{club.member.id}").status_code == 200


def test_timeout_errors(community):
    club, mod = community, community.api("mod")
    assert mod.post(f"/api/moderation/timeout/{club.id}/{club.removed.id}",
                    json={"durationSeconds": 60}).status_code == 404  # not a member
    assert mod.post(f"/api/moderation/timeout/{club.id}/{'0' * 24}", json={"durationSeconds": 60}).status_code == 404
    assert mod.delete(f"/api/moderation/timeout/{club.id}/{club.member.id}").status_code == 404
    assert not _logs(club)


# --- the moderator's delete ----------------------------------------------------------------------

def test_a_moderator_deletes_a_channel_message_for_everyone_with_a_reason(community, factory):
    club = community
    message = factory.send(club.member, club.general, "rude")
    response = club.api("mod").delete(f"/api/moderation/message/{message.id}", json={"reason": "rude"})
    assert response.status_code == 200 and response.get_json() == {"success": True,
                                                                   "message": "Message deleted successfully"}
    assert Message.objects(id=message.id).count() == 0
    history = club.api("admin").get(f"/api/messages/channel/{club.general.id}").get_json()
    assert all(m["id"] != str(message.id) for m in history["messages"])
    [entry] = _logs(club)
    assert (entry.action, entry.target_message_id, entry.reason) == ("DELETE_MESSAGE", message.id, "rude")
    assert entry.metadata["authorId"] == str(club.member.id)
    assert club.api("mod").delete(f"/api/moderation/message/{message.id}").status_code == 404
    dm = factory.direct_message(club.dm_group, club.member)
    refused = club.api("admin").delete(f"/api/moderation/message/{dm.id}")
    assert refused.status_code == 403 and refused.get_json()["message"] == "Cannot delete direct messages as moderator"
    assert Message.objects(id=dm.id).count() == 1 and len(_logs(club)) == 1


# --- the log -------------------------------------------------------------------------------------

def test_the_log_pages_newest_first_and_filters_by_action(community):
    club, admin = community, community.api("admin")
    for user in (club.member, club.nopc, club.pcmember):
        assert club.api("mod").post(f"/api/moderation/timeout/{club.id}/{user.id}",
                                    json={"durationSeconds": 60}).status_code == 200
    assert admin.post(f"/api/moderation/kick/{club.id}/{club.member.id}").status_code == 200
    whole = admin.get(f"/api/moderation/logs/{club.id}").get_json()
    assert whole["total"] == 4 and [e["action"] for e in whole["logs"]] == ["KICK_USER"] + ["TIMEOUT_USER"] * 3
    first = whole["logs"][0]
    assert first["moderator"]["username"] == "admin" and first["targetUser"]["username"] == "member"
    assert set(first) >= {"id", "communityId", "moderatorId", "targetUserId", "targetMessageId", "reason",
                          "metadata", "createdAt"}
    page = admin.get(f"/api/moderation/logs/{club.id}?limit=2&offset=1&action=TIMEOUT_USER").get_json()
    assert page["total"] == 3 and [e["targetUserId"] for e in page["logs"]] == [str(club.nopc.id), str(club.member.id)]
    assert admin.get(f"/api/moderation/logs/{club.id}?action=KICK_USER").get_json()["total"] == 1
    for bad in ("limit=abc", "limit=0", "limit=101", "offset=-1", "action=NOPE"):
        assert admin.get(f"/api/moderation/logs/{club.id}?{bad}").status_code == 400, bad
    # the log is read-only
    assert admin.delete(f"/api/moderation/logs/{club.id}").status_code == 405
    assert admin.patch(f"/api/moderation/logs/{club.id}", json={}).status_code == 405
