"""`/api/appearance-settings` (kraken-head-features §12.6): the caller's row, created lazily."""
from __future__ import annotations

import pytest

from kraken.appearance.models import AppearanceSettings
from tests.factories import dump


def test_defaults_then_partial_updates(factory, owner):
    api = factory.api(owner)
    body = api.get("/api/appearance-settings").get_json()
    assert (body["themeMode"], body["accentColor"], body["intensity"]) == ("dark", "blue", "minimal")
    assert body["userId"] == str(owner.id) and set(body) == {"id", "userId", "themeMode", "accentColor",
                                                             "intensity", "createdAt", "updatedAt"}
    changed = api.patch("/api/appearance-settings", json={"accentColor": "teal"}).get_json()
    assert (changed["themeMode"], changed["accentColor"]) == ("dark", "teal") and changed["id"] == body["id"]
    assert api.patch("/api/appearance-settings", json={"themeMode": "light", "intensity": "vibrant"}).status_code == 200
    assert AppearanceSettings.objects.count() == 1


def test_patch_creates_the_row(factory, owner):
    api = factory.api(owner)
    assert api.patch("/api/appearance-settings", json={"intensity": "balanced"}).get_json()["intensity"] == "balanced"


@pytest.mark.parametrize("body", [{"themeMode": "sepia"}, {"accentColor": "pink"}, {"intensity": 3}])
def test_other_values_are_400(factory, owner, body):
    api = factory.api(owner)
    api.get("/api/appearance-settings")
    before = dump()
    assert api.patch("/api/appearance-settings", json=body).status_code == 400
    assert dump() == before


def test_needs_a_token(client):
    assert client.get("/api/appearance-settings").status_code == 401
    assert client.patch("/api/appearance-settings", json={}).status_code == 401


def test_each_user_has_their_own(factory, owner, alice):
    factory.api(owner).patch("/api/appearance-settings", json={"accentColor": "red"})
    assert factory.api(alice).get("/api/appearance-settings").get_json()["accentColor"] == "blue"
