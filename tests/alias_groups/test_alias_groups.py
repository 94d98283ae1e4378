"""Alias (mention) groups over REST (kraken-head-features §6, docs/decisions/0061-alias-groups.md): shapes,
the name rule, members of the community only, 409 on a taken name (also when two creations race), an
unknown group is a 404, repeated ids count once, and groups follow the community (a member who leaves,
is removed or whose community is deleted is out of its groups)."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from bson import ObjectId

from kraken.alias_groups.lookups import groups_in_community, member_ids
from kraken.alias_groups.models import AliasGroup, AliasGroupMember


def _create(api, community_id, name, *members):
    return api.post(f"/api/alias-groups/community/{community_id}",
                    json={"name": name, "memberIds": [str(m.id) for m in members]})


def _members(group_id) -> set[str]:
    return {str(u) for u in AliasGroupMember.objects(alias_group_id=ObjectId(group_id)).scalar("user_id")}


def test_create_get_list_rename_and_delete_answer_the_specs_shapes(community):
    admin = community.api("admin")
    created = _create(admin, community.id, "oncall", community.member, community.mod)
    assert created.status_code == 201, created.get_json()
    group = created.get_json()
    assert set(group) == {"id", "name", "communityId", "createdAt", "memberCount", "members"}
    assert group["name"] == "oncall" and group["communityId"] == str(community.id) and group["memberCount"] == 2
    assert [m["username"] for m in group["members"]] == ["member", "mod"]  # by username
    assert set(group["members"][0]) == {"id", "username", "displayName", "avatarUrl"}
    assert group["members"][0]["id"] == str(community.member.id)
    assert _create(admin, community.id, "admins").status_code == 201  # no memberIds: an empty group

    member = community.api("member")
    listed = member.get(f"/api/alias-groups/community/{community.id}")
    assert listed.status_code == 200
    assert listed.get_json() == [
        {"id": listed.get_json()[0]["id"], "name": "admins", "communityId": str(community.id), "memberCount": 0},
        {"id": group["id"], "name": "oncall", "communityId": str(community.id), "memberCount": 2}]
    assert member.get(f"/api/alias-groups/{group['id']}").get_json() == group

    renamed = admin.put(f"/api/alias-groups/{group['id']}", json={"name": "on-call_2"})
    assert renamed.status_code == 200 and renamed.get_json() == {**group, "name": "on-call_2"}
    same = admin.put(f"/api/alias-groups/{group['id']}", json={"name": "on-call_2"})  # the same name: a no-op
    assert same.status_code == 200 and same.get_json()["name"] == "on-call_2"
    clash = admin.put(f"/api/alias-groups/{group['id']}", json={"name": "admins"})
    assert clash.status_code == 409
    assert clash.get_json()["message"] == 'Alias group "admins" already exists in this community'

    assert admin.delete(f"/api/alias-groups/{group['id']}").status_code == 204
    gone = admin.get(f"/api/alias-groups/{group['id']}")
    assert gone.status_code == 404 and gone.get_json()["message"] == "Alias group not found"
    assert not AliasGroupMember.objects(alias_group_id=ObjectId(group["id"])).count()


@pytest.mark.parametrize("name, message", [
    ("", "Group name must not be empty"),
    ("x" * 51, "Group name must not exceed 50 characters"),
    ("on call", "Group name can only contain letters, numbers, underscores, and hyphens"),
    ("équipe", "Group name can only contain letters, numbers, underscores, and hyphens"),
    ("@here", "Group name can only contain letters, numbers, underscores, and hyphens"),
])
def test_the_name_rule_applies_to_create_and_rename(community, name, message):
    admin = community.api("admin")
    refused = _create(admin, community.id, name)
    assert refused.status_code == 400 and refused.get_json()["message"] == [f"name: {message}"]
    group = _create(admin, community.id, "ok").get_json()
    renamed = admin.put(f"/api/alias-groups/{group['id']}", json={"name": name})
    assert renamed.status_code == 400 and renamed.get_json()["message"] == [f"name: {message}"]
    assert AliasGroup.objects.count() == 1 and AliasGroup.objects.get().name == "ok"
    assert _create(admin, community.id, "x" * 50).status_code == 201  # 50 is allowed


def test_a_taken_name_is_a_409_and_the_same_name_may_live_in_another_community(community):
    assert _create(community.api("admin"), community.id, "team").status_code == 201
    again = _create(community.api("admin"), community.id, "team")
    assert again.status_code == 409 and again.get_json()["code"] == "ALIAS_GROUP_NAME_TAKEN"
    assert again.get_json()["message"] == 'Alias group "team" already exists in this community'
    assert _create(community.api("outsider"), community.elsewhere.id, "team").status_code == 201
    assert _create(community.api("admin"), community.id, "Team").status_code == 201  # case counts


def test_two_creations_of_one_name_racing_give_one_201_and_one_409(app, community):
    def create(_):
        return _create(community.api("admin"), community.id, "racers", community.member).status_code

    for _ in range(3):
        AliasGroup.objects.delete()
        AliasGroupMember.objects.delete()
        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(create, range(2)))
        assert statuses == [201, 409]
        assert AliasGroup.objects(name="racers").count() == 1
        assert AliasGroupMember.objects.count() == 1


def test_members_must_belong_to_the_community_and_nothing_is_written_otherwise(community):
    admin = community.api("admin")
    refused = _create(admin, community.id, "mixed", community.member, community.stranger, community.removed)
    assert refused.status_code == 400
    assert refused.get_json()["message"] == [
        f"Users not members of this community: {community.stranger.id}, {community.removed.id}"]
    assert not AliasGroup.objects.count() and not AliasGroupMember.objects.count()

    gid = _create(admin, community.id, "crew", community.member).get_json()["id"]
    refused = admin.put(f"/api/alias-groups/{gid}/members", json={"memberIds": [str(community.outsider.id)]})
    assert refused.status_code == 400 and _members(gid) == {str(community.member.id)}
    refused = admin.post(f"/api/alias-groups/{gid}/members", json={"userId": str(community.stranger.id)})
    assert refused.status_code == 400 and refused.get_json()["message"] == ["User is not a member of this community"]
    assert _members(gid) == {str(community.member.id)}


def test_add_remove_and_replace_members(community):
    admin = community.api("admin")
    gid = _create(admin, community.id, "crew", community.member).get_json()["id"]
    assert admin.post(f"/api/alias-groups/{gid}/members", json={"userId": str(community.mod.id)}).status_code == 204
    again = admin.post(f"/api/alias-groups/{gid}/members", json={"userId": str(community.mod.id)})
    assert again.status_code == 409 and again.get_json()["message"] == "User is already a member of this group"
    assert _members(gid) == {str(community.member.id), str(community.mod.id)}

    assert admin.delete(f"/api/alias-groups/{gid}/members/{community.mod.id}").status_code == 204
    missing = admin.delete(f"/api/alias-groups/{gid}/members/{community.mod.id}")
    assert missing.status_code == 404 and missing.get_json()["message"] == "User is not a member of this group"

    # a full replacement: repeated ids count once (the reference's unique violation, a 500, is gone)
    ids = [str(community.nopc.id), str(community.pcmember.id), str(community.nopc.id), str(community.pcmember.id)]
    assert admin.put(f"/api/alias-groups/{gid}/members", json={"memberIds": ids}).status_code == 204
    assert _members(gid) == {str(community.nopc.id), str(community.pcmember.id)}
    group = admin.get(f"/api/alias-groups/{gid}").get_json()
    assert group["memberCount"] == 2 and [m["username"] for m in group["members"]] == ["nopc", "pcmember"]
    upper = str(community.member.id).upper()  # ids are hex: either case names the same user
    assert admin.put(f"/api/alias-groups/{gid}/members", json={"memberIds": [upper]}).status_code == 204
    assert _members(gid) == {str(community.member.id)}
    assert admin.put(f"/api/alias-groups/{gid}/members", json={"memberIds": []}).status_code == 204
    assert _members(gid) == set()
    assert admin.get(f"/api/alias-groups/community/{community.id}").get_json()[0]["memberCount"] == 0


def test_bad_and_unknown_ids_are_4xx_never_500(community):
    admin = community.api("admin")
    gid = _create(admin, community.id, "crew").get_json()["id"]
    unknown = str(ObjectId())
    for method, path, body in (("GET", f"/api/alias-groups/{unknown}", None),
                               ("PUT", f"/api/alias-groups/{unknown}", {"name": "x"}),
                               ("DELETE", f"/api/alias-groups/{unknown}", None),
                               ("POST", f"/api/alias-groups/{unknown}/members", {"userId": str(community.member.id)}),
                               ("DELETE", f"/api/alias-groups/{unknown}/members/{community.member.id}", None),
                               ("PUT", f"/api/alias-groups/{unknown}/members", {"memberIds": []})):
        response = admin.open(method, path, json=body)
        assert response.status_code == 404, (method, path, response.get_json())
        assert response.get_json()["message"] == "Alias group not found"
    for method, path, body in (("GET", "/api/alias-groups/not-an-id", None),
                               ("GET", "/api/alias-groups/community/123", None),
                               ("DELETE", f"/api/alias-groups/{gid}/members/0a1b", None),
                               ("POST", f"/api/alias-groups/{gid}/members", {"userId": "0a1b"}),
                               ("POST", f"/api/alias-groups/{gid}/members", {}),
                               ("PUT", f"/api/alias-groups/{gid}/members", {"memberIds": ["nope"]}),
                               ("PUT", f"/api/alias-groups/{gid}/members", {"memberIds": "all"}),
                               ("PUT", f"/api/alias-groups/{gid}/members", {}),
                               ("PUT", f"/api/alias-groups/{gid}", {"name": 5}),
                               ("POST", f"/api/alias-groups/community/{community.id}", {"name": ["a"]}),
                               ("POST", f"/api/alias-groups/community/{community.id}",
                                {"name": "a", "memberIds": [{"$ne": None}]})):
        response = admin.open(method, path, json=body)
        assert response.status_code == 400, (method, path, response.get_json())
    missing_community = admin.get(f"/api/alias-groups/community/{ObjectId()}")
    assert missing_community.status_code == 404


def test_concurrent_adds_of_one_user_give_one_204_and_one_409(community):
    gid = _create(community.api("admin"), community.id, "crew").get_json()["id"]

    def add(_):
        return community.api("admin").post(f"/api/alias-groups/{gid}/members",
                                           json={"userId": str(community.member.id)}).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(add, range(4)))
    assert statuses == [204, 409, 409, 409]
    assert _members(gid) == {str(community.member.id)}


@pytest.mark.parametrize("how", ["leave", "removed"])
def test_a_member_who_leaves_or_is_removed_leaves_every_group_of_that_community(community, how):
    admin, outsider = community.api("admin"), community.api("outsider")
    here = _create(admin, community.id, "crew", community.member, community.mod).get_json()["id"]
    also = _create(admin, community.id, "night", community.member).get_json()["id"]
    # the member also belongs to another community's group, which stays
    outsider.post("/api/membership", json={"userId": str(community.member.id), "communityId": str(community.elsewhere.id)})
    there = _create(outsider, community.elsewhere.id, "crew", community.member).get_json()["id"]
    if how == "leave":
        assert community.api("member").delete(f"/api/membership/leave/{community.id}").status_code == 204
    else:
        response = admin.delete(f"/api/membership/community/{community.id}/user/{community.member.id}")
        assert response.status_code == 204
    assert _members(here) == {str(community.mod.id)} and _members(also) == set()
    assert _members(there) == {str(community.member.id)}
    assert member_ids([ObjectId(here), ObjectId(also)]) == {community.mod.id}


def test_deleting_a_community_deletes_its_groups(community):
    admin, outsider = community.api("admin"), community.api("outsider")
    gid = _create(admin, community.id, "crew", community.member).get_json()["id"]
    kept = _create(outsider, community.elsewhere.id, "crew", community.outsider).get_json()["id"]
    assert admin.delete(f"/api/community/{community.id}").status_code == 204
    assert not AliasGroup.objects(community_id=community.id).count()
    assert not AliasGroupMember.objects(community_id=community.id).count()
    assert admin.get(f"/api/alias-groups/{gid}").status_code == 404
    assert outsider.get(f"/api/alias-groups/{kept}").status_code == 200


def test_lookups_answer_by_community(community):
    gid = ObjectId(_create(community.api("admin"), community.id, "crew", community.member).get_json()["id"])
    other = ObjectId(_create(community.api("outsider"), community.elsewhere.id, "x").get_json()["id"])
    assert groups_in_community(community.id, [gid, other, ObjectId()]) == {gid}
    assert groups_in_community(community.id, []) == set()
    assert member_ids([gid, other]) == {community.member.id}
    # spans carry ids as hex strings: the look-ups take those as well, and ignore what is not an id
    assert groups_in_community(str(community.id), [str(gid), str(other), "nope"]) == {str(gid)}
    assert member_ids([str(gid), "nope"]) == {community.member.id}


def test_two_groups_renamed_to_one_name_at_once_give_one_200_and_one_409(community):
    admin = community.api("admin")
    for round_ in range(3):
        ids = [_create(admin, community.id, f"g{round_}{i}").get_json()["id"] for i in range(2)]

        def rename(gid):
            return community.api("admin").put(f"/api/alias-groups/{gid}", json={"name": f"taken{round_}"}).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(rename, ids))
        assert statuses == [200, 409]
        assert AliasGroup.objects(name=f"taken{round_}").count() == 1


def test_migration_0012_creates_the_unique_indexes_and_runs_twice(app):
    from kraken import migrations
    script = migrations.load("0012_alias_group_indexes")
    for document in (AliasGroup, AliasGroupMember):
        document._get_collection().drop()
    for _ in range(2):
        script.up(None, lambda line: None)
    groups = AliasGroup._get_collection().index_information().values()
    members = AliasGroupMember._get_collection().index_information().values()
    assert any(i.get("unique") and [k for k, _ in i["key"]] == ["communityId", "name"] for i in groups)
    assert any(i.get("unique") and [k for k, _ in i["key"]] == ["aliasGroupId", "userId"] for i in members)
    assert any([k for k, _ in i["key"]] == ["userId"] for i in members)
