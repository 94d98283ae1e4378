"""Invites: atomic redemption under concurrency, expiry, disabling, community invites
(docs/decisions/0012-invites.md)."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from kraken.common.time import iso, utcnow
from kraken.invites.models import Invite
from kraken.memberships.models import Membership
from kraken.users.models import User


@pytest.fixture
def owner(factory):
    return factory.owner("root")


@pytest.fixture
def club(factory, owner, login_as):
    admin = factory.user("admin")
    api = login_as(admin)
    cid = api.post("/api/community", json={"name": "Club"}).get_json()["id"]
    return api, cid


def test_twenty_registrations_racing_for_five_uses_exactly_five_win(app, owner, login_as):
    code = login_as(owner).post("/api/invite", json={"maxUses": 5}).get_json()["code"]

    def register(i):
        return app.test_client().post("/api/users", json={"username": f"racer{i}", "password": "longenough",
                                                          "code": code}).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(register, range(20)))
    assert statuses.count(201) == 5 and statuses.count(410) == 15
    invite = Invite.objects(code=code).first()
    assert invite.uses == 5 and len(invite.used_by_ids) == 5
    assert User.objects(__raw__={"username": {"$regex": "^racer"}}).count() == 5


def test_twenty_members_racing_to_redeem_five_uses(app, factory, club, login_as):
    api, cid = club
    code = api.post(f"/api/community/{cid}/invites", json={"maxUses": 5}).get_json()["code"]
    clients = [login_as(factory.user(f"joiner{i}")) for i in range(20)]
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda c: c.post(f"/api/invite/{code}/redeem").status_code, clients))
    assert statuses.count(200) == 5 and statuses.count(410) == 15
    assert Membership.objects(community_id=cid).count() == 1 + 5
    assert api.get(f"/api/invite/public/{code}").get_json()["valid"] is False


def test_the_same_user_never_uses_an_invite_twice(factory, club, login_as):
    api, cid = club
    code = api.post(f"/api/community/{cid}/invites", json={"maxUses": 2}).get_json()["code"]
    joiner = login_as(factory.user("joiner"))
    first = joiner.post(f"/api/invite/{code}/redeem")
    assert first.status_code == 200 and first.get_json() == {"joinedCommunityIds": [cid]}
    again = joiner.post(f"/api/invite/{code}/redeem")
    assert again.status_code == 200 and again.get_json() == {"joinedCommunityIds": []}
    assert Invite.objects(code=code).first().uses == 1


def test_expired_and_deleted_invites_are_refused(factory, club, login_as):
    api, cid = club
    soon = iso(utcnow() + timedelta(seconds=2))
    expiring = api.post(f"/api/community/{cid}/invites", json={"validUntil": soon}).get_json()["code"]
    Invite.objects(code=expiring).update_one(set__valid_until=utcnow() - timedelta(seconds=1))
    joiner = login_as(factory.user("late"))
    assert joiner.post(f"/api/invite/{expiring}/redeem").status_code == 410

    code = api.post(f"/api/community/{cid}/invites", json={}).get_json()["code"]
    count_before = Invite.objects.count()
    deleted = api.delete(f"/api/invite/{code}")
    assert deleted.status_code == 200 and deleted.get_json()["disabled"] is True
    assert Invite.objects(code=code).count() == 1  # disabled, not removed, never a new invite
    assert Invite.objects.count() == count_before
    assert joiner.post(f"/api/invite/{code}/redeem").status_code == 410
    assert joiner.post("/api/invite/unknowncode/redeem").status_code == 404
    public = api.get(f"/api/invite/public/{code}").get_json()
    assert public["valid"] is False and "usedByIds" not in public


@pytest.mark.parametrize("body", [{"maxUses": 0}, {"maxUses": "5"}, {"validUntil": "yesterday"},
                                  {"validUntil": "2020-01-01T00:00:00Z"}, {"communityIds": ["nope"]},
                                  {"communityIds": "x"}])
def test_invalid_invite_bodies_are_400(owner, login_as, body):
    assert login_as(owner).post("/api/invite", json=body).status_code == 400


def test_instance_invite_with_communities_joins_them_on_registration(app, owner, club, login_as):
    api, cid = club
    code = api.post("/api/invite", json={"communityIds": [cid]}).get_json()["code"]
    created = app.test_client().post("/api/users", json={"username": "newbie", "password": "longenough",
                                                          "code": code})
    # a community-scoped invite made by a community admin does not register strangers
    assert created.status_code == 404
    code = login_as(owner).post("/api/invite", json={"communityIds": [cid], "maxUses": 1}).get_json()
    assert code["scope"] == "INSTANCE"
    created = app.test_client().post("/api/users", json={"username": "newbie", "password": "longenough",
                                                          "code": code["code"]})
    assert created.status_code == 201
    newbie = User.objects(username="newbie").first()
    assert Membership.objects(user_id=newbie.id, community_id=cid).count() == 1
    roles = login_as(newbie, "longenough").get(f"/api/roles/my/community/{cid}").get_json()["roles"]
    assert [r["name"] for r in roles] == ["Member"]
