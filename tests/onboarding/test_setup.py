"""`POST /api/onboarding/setup` (kraken-head-features §12.5; decision 0063): all or nothing, exactly once,
and the logged setup invite and the wizard consume each other."""
from __future__ import annotations

import threading

import pytest

from kraken import bootstrap
from kraken.channels.models import Channel
from kraken.communities.models import Community
from kraken.instance.models import InstanceSettings
from kraken.invites.models import Invite
from kraken.messages.models import Message
from kraken.onboarding import service as onboarding
from kraken.roles import service as roles
from kraken.roles.models import Role, UserRole
from kraken.users import service as users
from kraken.users.models import User
from tests.conftest import _wipe
from tests.factories import dump, settle

BODY = {"adminUsername": "Root", "adminPassword": "a long password", "instanceName": "Squid Ink",
        "instanceDescription": "Where squids chat"}


def _welcome_invites() -> list[Invite]:
    return [i for i in Invite.objects if i.code.startswith("welcome-")]


def _token(client) -> str:
    return client.get("/api/onboarding/status").get_json()["setupToken"]


def test_setup_creates_owner_settings_community_roles_and_a_welcome_invite(client, app):
    response = client.post("/api/onboarding/setup", json={**BODY, "setupToken": _token(client)})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True and body["message"] == "Instance setup completed successfully"
    owner = User.objects.get(id=body["adminUserId"])
    assert (owner.username, owner.display_name, owner.role, owner.verified) == ("root", "root", "OWNER", True)
    # made like every user: the instance's default storage quota, nothing used yet
    assert (owner.storage_quota_bytes, owner.storage_used_bytes) == (app.extensions["kraken.settings"]
                                                                    .default_storage_quota_bytes, 0)
    settings = InstanceSettings.objects.get()
    assert (settings.name, settings.description) == ("Squid Ink", "Where squids chat")
    community = Community.objects.get(id=body["defaultCommunityId"])
    assert community.name == "General" and community.description == "Where squids chat"
    names = {(c.name, c.type) for c in Channel.objects(community_id=community.id)}
    assert names == {("general", "TEXT"), ("announcements", "TEXT"), ("voice-chat", "VOICE")}
    general = Channel.objects.get(community_id=community.id, name="general")
    assert Message.objects(channel_id=general.id, author_id=owner.id).count() == 1
    held = {Role.objects.get(id=r.role_id).name for r in UserRole.objects(user_id=owner.id)}
    assert {"Instance Admin", "Community Admin", "Member"} <= held
    welcome = _welcome_invites()[0]
    assert welcome.max_uses is None and welcome.valid_until is None and welcome.community_ids == [community.id]
    assert len(welcome.code) == len("welcome-") + 8
    status = client.get("/api/onboarding/status").get_json()
    assert status == {"needsSetup": False, "hasUsers": True}
    public = client.get("/api/instance/settings/public").get_json()
    assert public["name"] == "Squid Ink"
    # the owner logs in
    login = client.post("/api/auth/login", json={"username": "root", "password": "a long password"})
    assert login.status_code == 200


def test_setup_without_a_community(client):
    response = client.post("/api/onboarding/setup",
                           json={**BODY, "createDefaultCommunity": False, "setupToken": _token(client)})
    assert response.status_code == 200 and "defaultCommunityId" not in response.get_json()
    assert Community.objects.count() == 0 and len(_welcome_invites()) == 1


@pytest.mark.parametrize("change, status, message", [
    ({"setupToken": None}, 400, "Setup token is required"),
    ({"setupToken": "not-the-token"}, 409, "Invalid setup token"),
    ({"adminUsername": "ab"}, 400, None),
    ({"adminPassword": "short"}, 400, None),
    ({"instanceName": ""}, 400, None),
    ({"instanceName": "x" * 101}, 400, None),
    ({"adminEmail": "not an email"}, 400, None),
    ({"createDefaultCommunity": "yes"}, 400, None),
])
def test_bad_setups_are_refused_and_change_nothing(client, change, status, message):
    token = _token(client)
    before = dump()
    response = client.post("/api/onboarding/setup", json={**BODY, "setupToken": token, **change})
    assert response.status_code == status, response.get_json()
    if message:
        assert response.get_json()["message"] == message
    assert dump() == before


def test_a_second_setup_is_no_longer_needed(client):
    token = _token(client)
    assert client.post("/api/onboarding/setup", json={**BODY, "setupToken": token}).status_code == 200
    again = client.post("/api/onboarding/setup", json={**BODY, "adminUsername": "other", "setupToken": token})
    assert again.status_code == 409 and again.get_json()["message"] == "Instance setup is no longer needed"
    assert User.objects.count() == 1


def test_a_failure_in_the_middle_leaves_nothing(client, monkeypatch):
    settle()  # the earlier tests' background work (search indexing of their welcome messages) is done
    _wipe()
    invite = bootstrap.setup_invite()  # the headless door is open too
    roles.ensure_instance_roles()  # as on every started instance
    token = _token(client)
    before = dump()

    def broken(*args, **kwargs):
        raise RuntimeError("the welcome message could not be sent")

    monkeypatch.setattr(onboarding, "_welcome", broken)
    failed = client.post("/api/onboarding/setup", json={**BODY, "setupToken": token})
    assert failed.status_code == 500  # an internal failure, after five steps were done and undone
    assert dump() == before, "a failed setup left something behind"
    assert Invite.objects.get(code=invite.code).remaining == 1  # the setup invite is usable again
    monkeypatch.undo()
    assert client.post("/api/onboarding/setup", json={**BODY, "setupToken": token}).status_code == 200


def test_twenty_concurrent_setups_create_one_owner(app, client):
    token = _token(client)
    statuses: list[int] = []
    start = threading.Barrier(20)

    def one(i: int) -> None:
        with app.app_context():
            start.wait()
            r = app.test_client().post("/api/onboarding/setup",
                                       json={**BODY, "adminUsername": f"admin{i}", "setupToken": token})
            statuses.append(r.status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * 19
    assert User.objects.count() == 1 and User.objects(role="OWNER").count() == 1
    assert Community.objects.count() == 1 and len(_welcome_invites()) == 1


def test_the_setup_invite_and_the_wizard_consume_each_other(client, factory):
    invite = bootstrap.setup_invite()
    token = _token(client)
    assert client.post("/api/onboarding/setup", json={**BODY, "setupToken": token}).status_code == 200
    refused = client.post("/api/users", json={"username": "late", "password": "a long password",
                                              "code": invite.code})
    assert refused.status_code == 410 and User.objects.count() == 1


def test_registering_with_the_setup_invite_ends_the_wizard(client):
    invite = bootstrap.setup_invite()
    token = _token(client)
    registered = client.post("/api/users", json={"username": "first", "password": "a long password",
                                                 "code": invite.code})
    assert registered.status_code == 201 and registered.get_json()["role"] == "OWNER"
    assert client.get("/api/onboarding/status").get_json()["needsSetup"] is False
    again = client.post("/api/onboarding/setup", json={**BODY, "setupToken": token})
    assert again.status_code == 409 and User.objects.count() == 1


def test_the_wizard_and_the_setup_invite_racing_make_one_owner(app, client):
    for _ in range(3):
        from tests.conftest import _wipe
        _wipe()
        invite = bootstrap.setup_invite()
        token = _token(client)
        results = {}
        start = threading.Barrier(2)

        def wizard():
            with app.app_context():
                start.wait()
                results["wizard"] = app.test_client().post("/api/onboarding/setup",
                                                           json={**BODY, "setupToken": token}).status_code

        def headless():
            with app.app_context():
                start.wait()
                results["invite"] = app.test_client().post("/api/users", json={
                    "username": "first", "password": "a long password", "code": invite.code}).status_code

        threads = [threading.Thread(target=wizard), threading.Thread(target=headless)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) in ([200, 410], [201, 409]), results
        assert User.objects.count() == 1 and User.objects(role="OWNER").count() == 1


def test_needs_setup_ignores_the_setup_invite_but_not_an_operators_invite(client, factory):
    bootstrap.setup_invite()
    assert client.get("/api/onboarding/status").get_json()["needsSetup"] is True
    factory.invite()  # `flask kraken create-invite` before any user: a headless install
    assert client.get("/api/onboarding/status").get_json() == {"needsSetup": False, "hasUsers": False}
    assert users  # the module is the owner path the wizard shares
