"""Instance roles (kraken-later-endpoints §3.2; decision 0063): create, update, delete, assign, unassign,
list holders, with the escalation check (no one grants an action they lack; instance actions only)."""
from __future__ import annotations

import pytest

from kraken.roles import service as roles
from kraken.roles.models import Role, UserRole
from tests.factories import dump


@pytest.fixture
def root(factory):
    return factory.owner("root")


@pytest.fixture
def as_root(factory, root):
    return factory.api(root)


@pytest.fixture
def manager(factory, root):
    """Holds the default User Manager role: READ/UPDATE/BAN/UNBAN_USER, MANAGE_USER_STORAGE, READ_INSTANCE_STATS."""
    user = factory.user("manager")
    roles.ensure_instance_roles()
    roles.give(user.id, Role.objects.get(community_id=None, name="User Manager"))
    return user


def _role(api, name, actions):
    return api.post("/api/roles/instance", json={"name": name, "actions": actions})


def test_crud_and_holders(as_root, factory):
    alice = factory.user("alice")
    created = _role(as_root, "Greeter", ["READ_USER", "CREATE_INSTANCE_INVITE"])
    assert created.status_code == 201
    role = created.get_json()
    assert role["isDefault"] is False and role["actions"] == ["CREATE_INSTANCE_INVITE", "READ_USER"]
    assert role["id"] in {r["id"] for r in as_root.get("/api/roles/instance/all").get_json()}
    assert {"Instance Admin", "User Manager", "Invite Manager", "Community Creator"} <= {
        r["name"] for r in as_root.get("/api/roles/instance/all").get_json()}
    assert _role(as_root, "Greeter", ["READ_USER"]).status_code == 409
    renamed = as_root.put(f"/api/roles/instance/{role['id']}", json={"name": "Doorman", "actions": ["READ_USER"]})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Doorman"
    assert as_root.post(f"/api/roles/instance/{role['id']}/assign", json={"userId": str(alice.id)}).status_code == 204
    again = as_root.post(f"/api/roles/instance/{role['id']}/assign", json={"userId": str(alice.id)})
    assert again.status_code == 409 and again.get_json()["message"] == "User already has this instance role"
    holders = as_root.get(f"/api/roles/instance/{role['id']}/users").get_json()
    assert holders == [{"userId": str(alice.id), "username": "alice", "displayName": "alice"}]
    # alice now reads users
    assert factory.api(alice).get("/api/users/admin/list").status_code == 200
    in_use = as_root.delete(f"/api/roles/instance/{role['id']}")
    assert in_use.status_code == 400
    assert as_root.delete(f"/api/roles/instance/{role['id']}/users/{alice.id}").status_code == 204
    assert factory.api(alice).get("/api/users/admin/list").status_code == 403
    assert as_root.delete(f"/api/roles/instance/{role['id']}/users/{alice.id}").status_code == 404
    assert as_root.delete(f"/api/roles/instance/{role['id']}").status_code == 204
    assert Role.objects(id=role["id"]).count() == 0


def test_default_roles_keep_their_names_and_stay(as_root):
    roles.ensure_instance_roles()
    admin = Role.objects.get(community_id=None, name="Instance Admin")
    assert as_root.put(f"/api/roles/instance/{admin.id}", json={"name": "Boss"}).status_code == 400
    assert as_root.delete(f"/api/roles/instance/{admin.id}").status_code == 400
    changed = as_root.put(f"/api/roles/instance/{admin.id}", json={"actions": ["READ_USER", "BAN_USER"]})
    assert changed.status_code == 200 and changed.get_json()["actions"] == ["BAN_USER", "READ_USER"]


@pytest.mark.parametrize("actions", [["READ_MESSAGE"], ["CREATE_CHANNEL", "READ_USER"], ["NOT_AN_ACTION"], []])
def test_only_instance_actions(as_root, actions):
    roles.ensure_instance_roles()
    before = dump()
    assert _role(as_root, "Odd", actions).status_code == 400
    assert dump() == before


def test_no_one_grants_an_action_they_lack(factory, manager, root):
    api = factory.api(manager)
    alice = factory.user("alice")
    before = dump()
    # the manager lacks UPDATE_INSTANCE_SETTINGS: role management is closed to them
    assert _role(api, "Mine", ["READ_USER"]).status_code == 403
    admin = Role.objects.get(community_id=None, name="Instance Admin")
    # the manager may assign (UPDATE_USER), but not a role holding actions they lack
    refused = api.post(f"/api/roles/instance/{admin.id}/assign", json={"userId": str(alice.id)})
    assert refused.status_code == 403 and refused.get_json()["code"] == "ROLE_ESCALATION"
    assert dump() == before
    own = Role.objects.get(community_id=None, name="User Manager")
    assert api.post(f"/api/roles/instance/{own.id}/assign", json={"userId": str(alice.id)}).status_code == 204
    assert UserRole.objects(user_id=alice.id, role_id=own.id).count() == 1


def test_an_instance_admin_cannot_build_a_role_beyond_its_rights(factory, root):
    iadmin = factory.user("iadmin")
    roles.ensure_instance_roles()
    roles.give(iadmin.id, Role.objects.get(community_id=None, name="Instance Admin"))
    api = factory.api(iadmin)
    assert _role(api, "Small", ["READ_USER", "BAN_USER"]).status_code == 201
    escalated = _role(api, "Big", ["READ_USER", "DELETE_COMMUNITY"])  # an instance action it lacks
    assert escalated.status_code == 403 and escalated.get_json()["code"] == "ROLE_ESCALATION"
    creator = Role.objects.get(community_id=None, name="Community Creator")
    assert api.post(f"/api/roles/instance/{creator.id}/assign", json={"userId": str(iadmin.id)}).status_code == 403


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/roles/instance", {"name": "x"}),
    ("POST", "/api/roles/instance", {"name": "x" * 51, "actions": ["READ_USER"]}),
    ("PUT", "/api/roles/instance/0123456789abcdef01234567", {"name": "x"}),
    ("DELETE", "/api/roles/instance/0123456789abcdef01234567", None),
    ("POST", "/api/roles/instance/0123456789abcdef01234567/assign", {"userId": "0123456789abcdef01234567"}),
    ("POST", "/api/roles/instance/{IA}/assign", {"userId": "0123456789abcdef01234567"}),
    ("POST", "/api/roles/instance/{IA}/assign", {"userId": "nope"}),
    ("GET", "/api/roles/instance/0123456789abcdef01234567/users", None),
])
def test_bad_requests(as_root, method, path, body):
    roles.ensure_instance_roles()
    ia = Role.objects.get(community_id=None, name="Instance Admin")
    response = as_root.open(method, path.replace("{IA}", str(ia.id)), json=body)
    assert response.status_code in (400, 404) and response.get_json()["statusCode"] == response.status_code
