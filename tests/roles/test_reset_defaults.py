"""`POST /api/roles/community/:id/reset-defaults` (kraken-later-endpoints §3.1,
docs/decisions/0062-role-reset-and-invite-by-code.md): missing default roles come back, every default
role gets its template's actions again, assignments and custom roles stay; the permission caches (Redis
and every process's copies) drop the grants the old actions gave; no escalation through a reset."""
from concurrent.futures import ThreadPoolExecutor

import requests

from kraken import permcache
from kraken.common.permissions import DEFAULT_COMMUNITY_ROLES, MEMBER, MODERATOR, COMMUNITY_ADMIN
from kraken.extensions import redis
from kraken.roles.models import Role, UserRole
from tests.realtime.conftest import live  # noqa: F401  (the live server fixture: a second process)


def _template(name):
    return sorted(a.value for a in DEFAULT_COMMUNITY_ROLES[name])


def _reset(api, community_id):
    return api.post(f"/api/roles/community/{community_id}/reset-defaults")


def test_reset_recreates_missing_roles_resets_actions_and_keeps_assignments_and_custom_roles(community):
    member_role = community.roles[MEMBER]
    Role.objects(id=member_role.id).update_one(set__actions=["READ_COMMUNITY"])
    Role.objects(community_id=community.id, name=MODERATOR).delete()  # old data: a default role gone
    helper_actions = list(community.roles["Helper"].actions)
    assignments = sorted((str(a.user_id), str(a.role_id)) for a in UserRole.objects(community_id=community.id))

    response = _reset(community.api("admin"), community.id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["communityId"] == str(community.id)
    roles = {r["name"]: r for r in body["roles"]}
    assert set(roles) == {COMMUNITY_ADMIN, MODERATOR, MEMBER, "Helper"}
    for name in (COMMUNITY_ADMIN, MODERATOR, MEMBER):
        assert roles[name]["actions"] == _template(name) and roles[name]["isDefault"] is True
    assert roles[MEMBER]["id"] == str(member_role.id)  # reset in place, not replaced
    assert roles["Helper"]["actions"] == helper_actions and roles["Helper"]["isDefault"] is False
    assert [r["createdAt"] for r in body["roles"]] == sorted(r["createdAt"] for r in body["roles"])
    assert body == community.api("admin").get(f"/api/roles/community/{community.id}").get_json()
    assert sorted((str(a.user_id), str(a.role_id)) for a in UserRole.objects(community_id=community.id)) == assignments
    again = _reset(community.api("admin"), community.id)  # nothing left to do: the same answer
    assert again.status_code == 200 and again.get_json() == body


def test_the_old_grants_are_gone_from_every_cache_at_once(community, live):  # noqa: F811
    owner, member = community.api("owner"), community.api("member")
    role_id = community.roles[MEMBER].id
    more = _template(MEMBER) + ["CREATE_ROLE"]
    assert owner.put(f"/api/roles/community/{community.id}/{role_id}", json={"actions": more}).status_code == 200
    # the member's grant is now computed and held: in Redis, in this process, in the live process
    assert member.post(f"/api/roles/community/{community.id}", json={"name": "Mine", "actions": ["READ_COMMUNITY"]}
                       ).status_code == 201
    headers = {"Authorization": f"Bearer {community.tokens['member']}"}
    url = f"{live.url}/api/roles/community/{community.id}"
    assert requests.post(url, json={"name": "Mine2", "actions": ["READ_COMMUNITY"]}, headers=headers,
                         timeout=10).status_code == 201
    # creating a role made every grant of the community stale: read once more, here and there, so the
    # grant with CREATE_ROLE is held again (Redis, this process, the live process)
    assert member.get(f"/api/community/{community.id}").status_code == 200
    assert requests.get(f"{live.url}/api/community/{community.id}", headers=headers, timeout=10).status_code == 200
    assert "CREATE_ROLE" in redis.hget(permcache.PREFIX + f"perm:{community.id}", str(community.member.id))

    assert _reset(community.api("admin"), community.id).status_code == 200
    assert redis.hget(permcache.PREFIX + f"perm:{community.id}", str(community.member.id)) is None
    denied = member.post(f"/api/roles/community/{community.id}", json={"name": "Mine3", "actions": ["READ_COMMUNITY"]})
    assert denied.status_code == 403
    denied = requests.post(url, json={"name": "Mine4", "actions": ["READ_COMMUNITY"]}, headers=headers, timeout=10)
    assert denied.status_code == 403
    mine = member.get(f"/api/roles/my/community/{community.id}").get_json()["roles"]
    assert [r["actions"] for r in mine if r["name"] == MEMBER] == [_template(MEMBER)]


def test_no_escalation_through_a_reset(community):
    admin_role = community.roles[COMMUNITY_ADMIN]
    trimmed = [a for a in _template(COMMUNITY_ADMIN) if a != "BAN_USER"]
    owner = community.api("owner")
    assert owner.put(f"/api/roles/community/{community.id}/{admin_role.id}", json={"actions": trimmed}).status_code == 200
    Role.objects(id=community.roles[MEMBER].id).update_one(set__actions=["READ_COMMUNITY"])
    refused = _reset(community.api("admin"), community.id)  # would give Community Admin BAN_USER back
    assert refused.status_code == 403 and refused.get_json()["code"] == "ROLE_ESCALATION"
    assert sorted(Role.objects(id=admin_role.id).get().actions) == trimmed
    assert Role.objects(id=community.roles[MEMBER].id).get().actions == ["READ_COMMUNITY"]  # nothing written
    assert _reset(owner, community.id).status_code == 200
    assert sorted(Role.objects(id=admin_role.id).get().actions) == _template(COMMUNITY_ADMIN)
    # the admin holds every action again; a Community Admin changed without escalation is still the owner's
    Role.objects(id=admin_role.id).update_one(push__actions="READ_ALL_COMMUNITIES")
    refused = _reset(community.api("admin"), community.id)
    assert refused.status_code == 403 and refused.get_json()["code"] == "DEFAULT_ROLE"
    assert "READ_ALL_COMMUNITIES" in Role.objects(id=admin_role.id).get().actions


def test_concurrent_resets_recreate_a_missing_role_once(community):
    for _ in range(3):
        Role.objects(community_id=community.id, name=MODERATOR).delete()

        def reset(_):
            return _reset(community.api("admin"), community.id).status_code

        with ThreadPoolExecutor(3) as pool:
            assert list(pool.map(reset, range(3))) == [200, 200, 200]
        assert Role.objects(community_id=community.id, name=MODERATOR).count() == 1


def test_reset_needs_update_role_and_a_real_community(community):
    from bson import ObjectId
    assert _reset(community.api("mod"), community.id).status_code == 403
    assert _reset(community.api("outsider"), community.id).status_code == 403
    assert _reset(community.api("admin"), ObjectId()).status_code == 404
    assert _reset(community.api("admin"), "nope").status_code == 400


def test_renaming_a_role_to_a_taken_name_is_a_409_not_a_500(community):
    owner = community.api("owner")
    helper = community.roles["Helper"]
    refused = owner.put(f"/api/roles/community/{community.id}/{helper.id}", json={"name": MODERATOR})
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["message"] == f'Role with name "{MODERATOR}" already exists in this community'
    assert Role.objects(id=helper.id).get().name == "Helper"
