"""`GET /api/users/search`: with `communityId`, that community's members only and only to its members
(404 for a community that does not exist, 403 for a non-member); without it, the instance directory
(README, "Decisions beyond the wire spec")."""
from __future__ import annotations

import pytest
from bson import ObjectId

from kraken.memberships import service as memberships
from kraken.users import service as users


@pytest.fixture
def town(factory, owner):
    """`club`: its creator ann, members bea, ben, bo (disabled later by tests that want it); `other`:
    carl's, with cid; bill belongs to nothing."""
    people = {name: factory.user(name) for name in ("ann", "bea", "ben", "bo", "carl", "cid", "bill")}
    club, other = factory.community(people["ann"], "Club"), factory.community(people["carl"], "Other")
    for name in ("bea", "ben", "bo"):
        factory.member(people[name], club)
    factory.member(people["cid"], other)
    return {"people": people, "club": str(club.id), "other": str(other.id)}


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [u["username"] for u in response.get_json()]


@pytest.mark.parametrize("who, q, expected", [
    ("ann", "", ["ann", "bea", "ben", "bo"]),
    ("bea", "b", ["bea", "ben", "bo"]),  # bill matches "b" but is no member
    ("ben", "BE", ["bea", "ben"]),
    ("bo", "c", []),  # carl and cid match, elsewhere
    ("bo", ".*", []),
])
def test_a_scoped_search_returns_only_the_communitys_members(town, login_as, who, q, expected):
    api = login_as(town["people"][who])
    assert names(api.get(f"/api/users/search?communityId={town['club']}&q={q}")) == expected


def test_the_owner_may_search_any_community(town, owner, login_as):
    assert names(login_as(owner).get(f"/api/users/search?communityId={town['other']}")) == ["carl", "cid"]


@pytest.mark.parametrize("who, community, status, code", [
    ("carl", "club", 403, "NOT_A_MEMBER"), ("cid", "club", 403, "NOT_A_MEMBER"), ("bill", "club", 403, "NOT_A_MEMBER"),
    ("ann", "other", 403, "NOT_A_MEMBER"), ("ann", "missing", 404, "NOT_FOUND"), ("ann", "malformed", 400, None),
])
def test_outsiders_get_nothing_from_a_scoped_search(town, login_as, who, community, status, code):
    target = {"club": town["club"], "other": town["other"], "missing": str(ObjectId()), "malformed": "nope"}[community]
    response = login_as(town["people"][who]).get(f"/api/users/search?communityId={target}&q=")
    assert response.status_code == status
    if code:
        assert response.get_json()["code"] == code


def test_a_member_who_left_loses_the_scope_at_once(town, login_as):
    api = login_as(town["people"]["bea"])
    assert "ann" in names(api.get(f"/api/users/search?communityId={town['club']}"))
    memberships.remove(town["club"], town["people"]["bea"].id)
    assert api.get(f"/api/users/search?communityId={town['club']}").status_code == 403


def test_disabled_members_and_the_limit(town, factory, login_as):
    users.set_disabled(str(town["people"]["bo"].id), True)
    for i in range(30):
        factory.member(factory.user(f"bz{i:02d}"), town["club"])
    api = login_as(town["people"]["ann"])
    found = names(api.get(f"/api/users/search?communityId={town['club']}&q=b&limit=25"))
    assert "bo" not in found and len(found) == 25 and found == sorted(found) and found[:2] == ["bea", "ben"]


def test_an_unscoped_search_is_the_instance_directory(town, login_as):
    api = login_as(town["people"]["bill"])  # a member of nothing
    assert names(api.get("/api/users/search?q=c")) == ["carl", "cid"]
    directory = [u["username"] for u in api.get("/api/users?limit=20").get_json()["users"]]
    assert names(api.get("/api/users/search?q=&limit=20")) == directory and len(directory) == 8
