"""Moderation under concurrency: two moderators banning one user, a ban racing the user's join."""
from __future__ import annotations

import time

from kraken import domain
from kraken.channel_memberships.models import ChannelMembership
from kraken.memberships import service as memberships
from kraken.memberships.models import Membership
from kraken.moderation.models import CommunityBan, ModerationLog, ban_in_force, member_key
from kraken.roles.models import UserRole
from tests.factories import race

ROUNDS = 40


def test_two_moderators_banning_one_user_at_once_make_one_ban_one_entry_and_one_409(app, community):
    club = community
    statuses = []
    for _ in range(3):
        statuses.clear()
        race(app, [lambda who=who: statuses.append(club.api(who).post(
            f"/api/moderation/ban/{club.id}/{club.member.id}", json={"reason": who}).status_code)
            for who in ("admin", "owner")])
        assert sorted(statuses) == [200, 409]
        assert CommunityBan.objects(community_id=club.id).count() == 1
        assert ModerationLog.objects(community_id=club.id, action="BAN_USER").count() == 1
        # lift it and put the member back for the next round
        assert club.api("owner").delete(f"/api/moderation/ban/{club.id}/{club.member.id}").status_code == 200
        ModerationLog.objects(community_id=club.id).delete()
        assert club.api("member").post(f"/api/invite/{club.community_invite.code}/redeem").status_code == 200


def test_a_ban_racing_the_users_join_by_invite_leaves_them_banned_and_not_a_member(app, community, factory):
    club = community
    user = club.stranger
    api = club.factory.api(user)
    admin = club.api("admin")
    outcomes = []
    for round_ in range(ROUNDS):
        code = factory.invite(community_ids=[club.id], scope="COMMUNITY").code
        outcome = {}

        # a different interleaving each round: from the join starting 40 ms before the ban to 40 ms after it
        lead = (round_ - ROUNDS / 2) * 0.002

        def ban():
            time.sleep(max(0.0, lead))
            outcome["ban"] = admin.post(f"/api/moderation/ban/{club.id}/{user.id}").status_code

        def join():
            time.sleep(max(0.0, -lead))
            outcome["join"] = api.post(f"/api/invite/{code}/redeem").status_code

        race(app, [ban, join])
        outcomes.append(outcome["join"])
        assert outcome["ban"] == 200, (round_, outcome)
        assert outcome["join"] in (200, 403), (round_, outcome)
        assert ban_in_force(club.id, user.id) is not None
        assert Membership.objects(community_id=club.id, user_id=user.id).count() == 0, (round_, outcome)
        assert UserRole.objects(community_id=club.id, user_id=user.id).count() == 0
        assert ChannelMembership.objects(community_id=club.id, user_id=user.id).count() == 0
        CommunityBan.objects(id=member_key(club.id, user.id)).update_one(set__active=False)
    assert ModerationLog.objects(community_id=club.id, action="BAN_USER").count() == ROUNDS
    assert {200, 403} <= set(outcomes), outcomes  # both orders happened: the join first, the ban first


def _ban_now(club, user) -> None:
    """A ban written by a concurrent request, right now (its removal found no membership yet)."""
    CommunityBan(id=member_key(club.id, user.id), community_id=club.id, user_id=user.id).save(force_insert=True)


def test_a_ban_landing_between_the_joins_write_and_its_check_undoes_the_join(community, monkeypatch):
    club, user = community, community.stranger
    give = memberships.roles.give_member_role

    def give_then_ban(user_id, community_id):
        give(user_id, community_id)
        _ban_now(club, user)

    monkeypatch.setattr(memberships.roles, "give_member_role", give_then_ban)
    response = club.factory.api(user).post(f"/api/invite/{club.community_invite.code}/redeem")
    assert response.status_code == 200 and response.get_json()["joinedCommunityIds"] == []  # not joined
    assert Membership.objects(community_id=club.id, user_id=user.id).count() == 0
    assert UserRole.objects(community_id=club.id, user_id=user.id).count() == 0


def test_a_ban_landing_after_the_joins_rooms_moved_moves_them_back(community):
    club, user = community, community.stranger
    left = []

    def ban_after_join(community_id, *, user_id, **_):
        if user_id == user.id:
            _ban_now(club, user)

    def record_left(community_id, *, user_id, channel_ids):
        left.append(user_id)

    domain.member_joined.connect(ban_after_join, weak=False)
    domain.member_left.connect(record_left, weak=False)
    try:
        response = club.api("admin").post("/api/membership", json={"userId": str(user.id), "communityId": str(club.id)})
    finally:
        domain.member_joined.disconnect(ban_after_join)
        domain.member_left.disconnect(record_left)
    assert response.status_code == 403 and response.get_json()["code"] == "BANNED"
    assert Membership.objects(community_id=club.id, user_id=user.id).count() == 0
    assert UserRole.objects(community_id=club.id, user_id=user.id).count() == 0
    assert left == [user.id]  # its sockets were told to leave the rooms the join had moved them into
