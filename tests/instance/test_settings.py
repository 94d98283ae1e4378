"""`/api/instance/settings*` (kraken-head-features §12.3; decision 0063): stored settings, the registration
mode they enforce, and each process's copy of them."""
from __future__ import annotations

import pytest
import requests

from kraken.instance import service as instance
from kraken.users.models import User
from tests.factories import dump


@pytest.fixture
def root(factory):
    return factory.owner("root")


@pytest.fixture
def as_root(factory, root):
    return factory.api(root)


def _register(client, name: str, code: str | None = None):
    body = {"username": name, "password": "a long password", **({"code": code} if code else {})}
    return client.post("/api/users", json=body)


def test_defaults_created_on_first_read(as_root, client):
    body = as_root.get("/api/instance/settings").get_json()
    assert body["registrationMode"] == "INVITE_ONLY"  # KRAKEN_REGISTRATION's first value (invite)
    assert body["defaultStorageQuotaBytes"] == 53687091200 and body["description"] is None
    assert set(body) == {"id", "name", "description", "registrationMode", "createdAt", "updatedAt",
                         "defaultStorageQuotaBytes", "maxFileSizeBytes", "vapidPublicKey", "vapidSubject"}
    assert client.get("/api/instance/settings/public").get_json() == {
        "name": body["name"], "registrationMode": "INVITE_ONLY", "maxFileSizeBytes": body["maxFileSizeBytes"]}


def test_patch_changes_only_what_is_sent(as_root):
    changed = as_root.patch("/api/instance/settings", json={"name": "Abyss", "description": "deep",
                                                            "maxFileSizeBytes": 1024})
    assert changed.status_code == 200
    body = changed.get_json()
    assert (body["name"], body["description"], body["maxFileSizeBytes"]) == ("Abyss", "deep", 1024)
    assert as_root.patch("/api/instance/settings", json={"description": None}).get_json()["description"] is None
    assert as_root.get("/api/instance/settings").get_json()["name"] == "Abyss"


@pytest.mark.parametrize("body", [{"name": "x" * 101}, {"name": ""}, {"description": "x" * 501},
                                  {"registrationMode": "SOMETIMES"}, {"maxFileSizeBytes": -1},
                                  {"defaultStorageQuotaBytes": "10"}])
def test_bad_patches_are_400_and_change_nothing(as_root, body):
    as_root.get("/api/instance/settings")
    before = dump()
    response = as_root.patch("/api/instance/settings", json=body)
    assert response.status_code == 400 and response.get_json()["statusCode"] == 400
    assert dump() == before


def test_open_registers_without_an_invite(as_root, client):
    assert _register(client, "nocode").status_code == 400  # INVITE_ONLY
    as_root.patch("/api/instance/settings", json={"registrationMode": "OPEN"})
    assert _register(client, "nocode").status_code == 201
    assert client.get("/api/instance/features").get_json()["registration"] == "open"


def test_invite_only_needs_an_invite(as_root, client, factory):
    as_root.patch("/api/instance/settings", json={"registrationMode": "INVITE_ONLY"})
    assert _register(client, "nocode").status_code == 400
    assert _register(client, "withcode", factory.invite().code).status_code == 201


def test_closed_refuses_even_with_an_invite(as_root, client, factory):
    code = factory.invite().code
    as_root.patch("/api/instance/settings", json={"registrationMode": "CLOSED"})
    refused = _register(client, "late", code)
    assert refused.status_code == 403 and refused.get_json()["code"] == "FEATURE_DISABLED"
    assert User.objects(username="late").count() == 0


def test_another_process_enforces_the_new_mode_at_once(as_root, live, live_b):
    def public(server) -> str:
        return requests.get(f"{server.url}/api/instance/settings/public", timeout=10).json()["registrationMode"]

    def register(server, name: str) -> int:
        return requests.post(f"{server.url}/api/users", json={"username": name, "password": "a long password"},
                             timeout=10).status_code

    assert public(live) == public(live_b) == "INVITE_ONLY"  # each process holds its copy now
    for mode in ("CLOSED", "OPEN", "INVITE_ONLY", "CLOSED"):
        as_root.patch("/api/instance/settings", json={"registrationMode": mode})
        assert public(live) == public(live_b) == mode
    assert register(live, "refused") == 403
    as_root.patch("/api/instance/settings", json={"registrationMode": "OPEN"})
    assert register(live_b, "welcomed") == 201  # the registration limit allows 3 a second: two here


def test_the_environment_gives_only_the_first_value(app, as_root):
    settings = instance.get_settings()
    assert settings.registration_mode == "INVITE_ONLY"
    as_root.patch("/api/instance/settings", json={"registrationMode": "OPEN"})
    assert instance.registration_mode() == "OPEN"  # the stored value wins from now on
