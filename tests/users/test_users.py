"""Profiles, password change, preferences and user lookups (contract §5.3,
docs/decisions/0035-profiles-and-account-administration.md)."""
import pytest

from kraken.users.models import User


@pytest.fixture
def people(factory):
    owner = factory.owner("root")
    return owner, factory.user("alice", email="alice@example.org"), factory.user("bob")


def test_profile_shows_own_email_but_others_never_see_it(people, login_as):
    _, alice, bob = people
    api = login_as(alice)
    me = api.get("/api/users/profile").get_json()
    assert me["email"] == "alice@example.org" and me["username"] == "alice"
    seen_by_bob = login_as(bob).get(f"/api/users/{alice.id}").get_json()
    assert "email" not in seen_by_bob and "hashedPassword" not in seen_by_bob
    assert seen_by_bob["createdAt"].endswith("Z") and len(seen_by_bob["createdAt"]) == 24


def test_patch_profile_updates_and_clears_fields(people, login_as):
    api = login_as(people[1])
    response = api.patch("/api/users/profile", json={"displayName": "Alice A.", "bio": "hi", "status": "busy",
                                                     "avatarUrl": "https://img.example/a.png", "role": "OWNER"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["displayName"], body["bio"], body["status"]) == ("Alice A.", "hi", "busy")
    assert body["role"] == "USER"  # unknown/forbidden keys are ignored
    cleared = api.patch("/api/users/profile", json={"bio": None, "status": "\u200b"}).get_json()
    assert cleared["bio"] is None and cleared["status"] is None and cleared["displayName"] == "Alice A."


@pytest.mark.parametrize("body", [{"displayName": "x" * 65}, {"bio": "x" * 501}, {"status": "x" * 129},
                                  {"avatarUrl": "javascript:alert(1)"}, {"displayName": {"$set": 1}}])
def test_patch_profile_rejects_bad_values(people, login_as, body):
    api = login_as(people[1])
    assert api.patch("/api/users/profile", json=body).status_code == 400
    assert User.objects(username="alice").first().display_name == "alice"


def test_password_change_revokes_other_sessions_but_keeps_this_one(app, people, login_as):
    alice = people[1]
    here, elsewhere = login_as(alice), login_as(alice)
    wrong = here.put("/api/users/profile/password", json={"currentPassword": "nope", "newPassword": "new password 1"})
    assert wrong.status_code == 400
    response = here.put("/api/users/profile/password",
                        json={"currentPassword": "correct horse battery", "newPassword": "new password 1"})
    assert response.status_code == 200
    assert here.get("/api/users/profile").status_code == 200
    assert here.post("/api/auth/refresh").status_code == 200
    assert elsewhere.get("/api/users/profile").status_code == 401
    assert elsewhere.post("/api/auth/refresh").status_code == 401
    client = app.test_client()
    assert client.post("/api/auth/login", json={"username": "alice", "password": "correct horse battery"}
                       ).status_code == 401
    assert client.post("/api/auth/login", json={"username": "alice", "password": "new password 1"}
                       ).status_code == 200


def test_preferences_default_then_validated_replace(people, login_as):
    api = login_as(people[1])
    assert api.get("/api/users/preferences").get_json() == {
        "theme": "system", "language": None,
        "notifications": {"desktop": True, "sound": True, "mentionsOnly": False}}
    saved = api.put("/api/users/preferences", json={"theme": "dark", "notifications": {"sound": False}})
    assert saved.status_code == 200 and saved.get_json()["theme"] == "dark"
    assert api.get("/api/users/preferences").get_json()["notifications"]["sound"] is False
    assert api.put("/api/users/preferences", json={"theme": "neon"}).status_code == 400
    assert api.put("/api/users/preferences", json={"blob": "x" * 10}).status_code == 400
    assert api.get("/api/users/preferences").get_json()["theme"] == "dark"


def test_lookup_by_username_and_id(people, login_as):
    api = login_as(people[1])
    assert api.get("/api/users/username/BOB").get_json()["id"] == str(people[2].id)
    assert api.get("/api/users/username/nobody").status_code == 404
    assert api.get(f"/api/users/{people[2].id}").get_json()["username"] == "bob"


def test_user_list_pages_with_an_exclusive_cursor(factory, people, login_as):
    for name in ("carol", "dave", "erin"):
        factory.user(name)
    api = login_as(people[1])
    seen, token = [], None
    while True:
        url = "/api/users/?limit=2" + (f"&continuationToken={token}" if token else "")
        page = api.get(url).get_json()
        seen += [u["username"] for u in page["users"]]
        token = page.get("continuationToken")
        if not token:
            break
    assert seen == ["alice", "bob", "carol", "dave", "erin", "root"]
    assert api.get("/api/users?limit=0").status_code == 400
    assert api.get("/api/users?limit=abc").status_code == 400
    assert api.get("/api/users?limit=2&continuationToken=zzz").status_code == 400


def test_search_matches_username_or_display_name_case_insensitively(people, login_as):
    api = login_as(people[1])
    api.patch("/api/users/profile", json={"displayName": "Wonderland"})
    assert [u["username"] for u in api.get("/api/users/search?q=BO").get_json()] == ["bob"]
    assert [u["username"] for u in api.get("/api/users/search?q=wonder").get_json()] == ["alice"]
    assert api.get("/api/users/search?q=.*").get_json() == []  # regex characters are literal


def test_owner_can_disable_and_enable_users_others_cannot(people, login_as):
    owner, alice, bob = people
    bob_api = login_as(bob)
    assert login_as(alice).post(f"/api/users/{bob.id}/disable").status_code == 403
    assert login_as(owner).post(f"/api/users/{bob.id}/disable").get_json()["username"] == "bob"
    assert bob_api.get("/api/users/profile").status_code == 401
    assert login_as(owner).post(f"/api/users/{owner.id}/disable").status_code == 409
    login_as(owner).post(f"/api/users/{bob.id}/enable")
    assert login_as(bob).get("/api/users/profile").status_code == 200
