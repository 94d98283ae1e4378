"""Community creation and deletion (docs/decisions/0011-community-creation-and-deletion.md), private
channels, last-admin protection, escalation."""
import mongoengine
import pytest

from kraken.channels import service as channels_service
from kraken.communities.models import Community


def create(api, name="Club"):
    response = api.post("/api/community", json={"name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def add_member(api, community_id, user):
    assert api.post("/api/membership", json={"userId": str(user.id), "communityId": community_id}).status_code == 201


def test_creating_a_community_makes_its_defaults(alice, login_as):
    api = login_as(alice)
    cid = create(api)
    channels = api.get(f"/api/channels/community/{cid}").get_json()
    assert [(c["name"], c["type"], c["isPrivate"]) for c in channels] == [("general", "TEXT", False),
                                                                          ("General", "VOICE", False)]
    mine = api.get(f"/api/roles/my/community/{cid}").get_json()
    assert mine["resourceId"] == cid and mine["resourceType"] == "COMMUNITY" and mine["userId"] == str(alice.id)
    names = {r["name"] for r in mine["roles"]}
    assert names == {"Community Admin", "Member"}
    actions = set().union(*(r["actions"] for r in mine["roles"]))
    assert {"UPDATE_COMMUNITY", "CREATE_CHANNEL", "UPDATE_MESSAGE", "MANAGE_VOICE", "JOIN_CHANNEL"} <= actions
    all_roles = api.get(f"/api/roles/community/{cid}").get_json()["roles"]
    assert {r["name"] for r in all_roles} == {"Community Admin", "Moderator", "Member"}
    assert all(r["isDefault"] for r in all_roles)


def test_community_names_are_unique_case_insensitively(alice, bob, login_as):
    create(login_as(alice), "Squid")
    response = login_as(bob).post("/api/community", json={"name": "SQUID"})
    assert response.status_code == 409


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "\u200b\u200b"}, {"name": "x" * 101},
                                  {"name": "ok", "description": "d" * 501}, {"name": {"$gt": ""}}])
def test_bad_community_input_is_400_and_creates_nothing(alice, login_as, body):
    assert login_as(alice).post("/api/community", json=body).status_code == 400
    assert Community.objects.count() == 0


def test_joiners_get_the_member_role(alice, bob, login_as):
    admin = login_as(alice)
    cid = create(admin)
    add_member(admin, cid, bob)
    roles = login_as(bob).get(f"/api/roles/my/community/{cid}").get_json()["roles"]
    assert [r["name"] for r in roles] == ["Member"]


def test_failed_creation_step_is_compensated(alice, login_as, monkeypatch):
    real_create = channels_service.create

    def failing_create(actor, community_id, **kwargs):
        if kwargs["type"] == "VOICE":
            raise RuntimeError("injected failure")
        return real_create(actor, community_id, **kwargs)

    monkeypatch.setattr(channels_service, "create", failing_create)
    response = login_as(alice).post("/api/community", json={"name": "Doomed"})
    assert response.status_code == 500
    assert response.get_json()["code"] == "INTERNAL_ERROR"
    assert "Traceback" not in response.get_data(as_text=True)
    assert _community_documents() == {}
    monkeypatch.undo()
    assert login_as(alice).post("/api/community", json={"name": "Doomed"}).status_code == 201


def _community_documents() -> dict:
    """Documents in any collection that still refer to a community."""
    db = mongoengine.get_db()
    left = {}
    for name in db.list_collection_names():
        query = {"$or": [{"communityId": {"$exists": True, "$ne": None}}, {"nameKey": {"$exists": True}},
                         {"defaultCommunityId.0": {"$exists": True}}]}
        if name in ("users", "refresh_families", "refresh_tokens", "instance_markers", "migrations"):
            continue
        count = db[name].count_documents(query)
        if count:
            left[name] = count
    return left


def test_deleting_a_community_leaves_no_orphans(factory, alice, bob, login_as):
    admin = login_as(alice)
    cid = create(admin, "Doomed")
    keep = create(admin, "Keeper")
    add_member(admin, cid, bob)
    private = admin.post("/api/channels", json={"name": "p", "communityId": cid, "type": "TEXT",
                                                 "isPrivate": True}).get_json()["id"]
    admin.post("/api/channel-membership", json={"userId": str(bob.id), "channelId": private})
    role = admin.post(f"/api/roles/community/{cid}", json={"name": "Helper", "actions": ["READ_COMMUNITY"]})
    admin.post(f"/api/roles/community/{cid}/assign", json={"userId": str(bob.id), "roleId": role.get_json()["id"]})
    admin.post(f"/api/community/{cid}/invites", json={"maxUses": 2})
    shared = admin.post("/api/invite", json={"communityIds": [cid]}).get_json()["code"]
    before_keep = _community_documents()

    assert admin.delete(f"/api/community/{cid}").status_code == 204
    assert admin.get(f"/api/community/{cid}").status_code == 404
    db = mongoengine.get_db()
    from bson import ObjectId
    oid = ObjectId(cid)
    for name in db.list_collection_names():
        refs = db[name].count_documents({"$or": [{"communityId": oid}, {"defaultCommunityId": oid},
                                                 {"_id": oid}, {"channelId": ObjectId(private)}]})
        assert refs == 0, f"{name} still refers to the deleted community"
    assert before_keep  # the other community's documents are still there
    assert admin.get(f"/api/channels/community/{keep}").status_code == 200
    assert admin.get(f"/api/invite/public/{shared}").status_code == 404


def test_private_channels_are_hidden_from_non_members(alice, bob, factory, login_as):
    carol = factory.user("carol")
    admin = login_as(alice)
    cid = create(admin)
    add_member(admin, cid, bob)
    add_member(admin, cid, carol)
    pid = admin.post("/api/channels", json={"name": "staff", "communityId": cid, "type": "TEXT",
                                             "isPrivate": True}).get_json()["id"]
    admin.post("/api/channel-membership", json={"userId": str(bob.id), "channelId": pid})
    names = lambda api: [c["name"] for c in api.get(f"/api/channels/community/{cid}").get_json()]  # noqa: E731
    assert "staff" in names(login_as(bob)) and "staff" in names(admin)
    assert "staff" not in names(login_as(carol))
    assert login_as(carol).get(f"/api/channels/{pid}").status_code == 404
    assert login_as(carol).get(f"/api/channel-membership/channel/{pid}").status_code == 404
    # a moderator (UPDATE_CHANNEL) sees it to manage it
    mod_role = next(r for r in admin.get(f"/api/roles/community/{cid}").get_json()["roles"] if r["name"] == "Moderator")
    admin.post(f"/api/roles/community/{cid}/assign", json={"userId": str(carol.id), "roleId": mod_role["id"]})
    assert "staff" in names(login_as(carol))
    # revoking the channel membership hides it again at once
    assert admin.delete(f"/api/channel-membership/channel/{pid}/user/{bob.id}").status_code == 204
    assert "staff" not in names(login_as(bob))
    assert login_as(bob).get(f"/api/channels/{pid}").status_code == 404


def test_public_channels_have_no_member_management(alice, bob, login_as):
    admin = login_as(alice)
    cid = create(admin)
    general = admin.get(f"/api/channels/community/{cid}").get_json()[0]["id"]
    add_member(admin, cid, bob)
    response = admin.post("/api/channel-membership", json={"userId": str(bob.id), "channelId": general})
    assert response.status_code == 403 and response.get_json()["code"] == "PUBLIC_CHANNEL"


def test_last_admin_cannot_leave_be_removed_or_lose_the_role(alice, bob, login_as):
    admin = login_as(alice)
    cid = create(admin)
    add_member(admin, cid, bob)
    roles = {r["name"]: r["id"] for r in admin.get(f"/api/roles/community/{cid}").get_json()["roles"]}
    assert admin.delete(f"/api/membership/leave/{cid}").status_code == 409
    assert admin.delete(f"/api/roles/community/{cid}/users/{alice.id}/roles/{roles['Community Admin']}"
                        ).status_code == 409
    assert admin.delete(f"/api/membership/community/{cid}/user/{alice.id}").status_code == 409
    assert admin.delete(f"/api/roles/community/{cid}/{roles['Community Admin']}").status_code == 400
    # with a second admin, the first may go
    assert admin.post(f"/api/roles/community/{cid}/assign",
                      json={"userId": str(bob.id), "roleId": roles["Community Admin"]}).status_code == 204
    assert admin.delete(f"/api/membership/leave/{cid}").status_code == 204
    assert login_as(bob).delete(f"/api/membership/leave/{cid}").status_code == 409


def test_roles_cannot_grant_what_their_creator_lacks(alice, bob, login_as):
    admin = login_as(alice)
    cid = create(admin)
    add_member(admin, cid, bob)
    manager = admin.post(f"/api/roles/community/{cid}", json={
        "name": "Role Manager", "actions": ["READ_COMMUNITY", "CREATE_ROLE", "UPDATE_ROLE", "UPDATE_MEMBER"]}
    ).get_json()
    admin.post(f"/api/roles/community/{cid}/assign", json={"userId": str(bob.id), "roleId": manager["id"]})
    roles = {r["name"]: r["id"] for r in admin.get(f"/api/roles/community/{cid}").get_json()["roles"]}
    bob_api = login_as(bob)

    escalate = bob_api.post(f"/api/roles/community/{cid}", json={"name": "God", "actions": ["DELETE_COMMUNITY"]})
    assert escalate.status_code == 403 and escalate.get_json()["code"] == "ROLE_ESCALATION"
    assert bob_api.put(f"/api/roles/community/{cid}/{manager['id']}",
                       json={"actions": ["READ_COMMUNITY", "CREATE_ROLE", "UPDATE_ROLE", "UPDATE_MEMBER",
                                         "DELETE_COMMUNITY"]}).status_code == 403
    assert bob_api.post(f"/api/roles/community/{cid}/assign",
                        json={"userId": str(bob.id), "roleId": roles["Community Admin"]}).status_code == 403
    assert bob_api.delete(f"/api/community/{cid}").status_code == 403
    # within his own actions he may
    assert bob_api.post(f"/api/roles/community/{cid}", json={"name": "Reader",
                                                             "actions": ["READ_COMMUNITY"]}).status_code == 201
    assert bob_api.post(f"/api/roles/community/{cid}", json={"name": "Bad", "actions": ["NOT_AN_ACTION"]}
                        ).status_code == 400


def test_role_names_are_unique_and_default_roles_keep_their_names(alice, login_as):
    admin = login_as(alice)
    cid = create(admin)
    roles = {r["name"]: r["id"] for r in admin.get(f"/api/roles/community/{cid}").get_json()["roles"]}
    assert admin.post(f"/api/roles/community/{cid}", json={"name": "Member", "actions": ["READ_COMMUNITY"]}
                      ).status_code == 409
    assert admin.put(f"/api/roles/community/{cid}/{roles['Member']}", json={"name": "Peasant"}).status_code == 400
    assert admin.delete(f"/api/roles/community/{cid}/{roles['Moderator']}").status_code == 400
