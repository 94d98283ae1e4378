"""Member search (kraken-head-features §10, docs/decisions/0056): matching, order, the cap, errors, and
the directory it reads staying exact through joins, leaves, renames, disabling and concurrent writes."""
from __future__ import annotations

import pytest
from bson import ObjectId

from kraken.common.time import iso
from kraken.communities import service as communities
from kraken.memberships import directory
from kraken.memberships import service as memberships
from kraken.memberships.models import MemberDirectory
from kraken.users import service as users
from tests.factories import race


def search(api, community, query=None, limit=None):
    params = "&".join(f"{k}={v}" for k, v in (("query", query), ("limit", limit)) if v is not None)
    response = api.get(f"/api/membership/community/{community.id}/search?{params}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def names(items) -> list[str]:
    return [m["user"]["username"] for m in items]


def test_search_matches_username_or_display_name_case_insensitively_by_username(community, login_as):
    users.update_profile(community.target, {"displayName": "Big Boss"})
    api = login_as(community.member)
    assert names(search(api, community)) == ["admin", "member", "mod", "nopc", "pcmember", "target"]
    assert names(search(api, community, "M")) == ["admin", "member", "mod", "pcmember"]
    assert names(search(api, community, "boss")) == ["target"]   # the display name
    assert names(search(api, community, "ss")) == ["target"]
    assert names(search(api, community, "outsider")) == []       # not a member
    assert names(search(api, community, "removed")) == []        # no longer one
    assert names(search(api, community, ".*")) == []             # literal text, not a pattern
    assert names(search(api, community, "m", 2)) == ["admin", "member"]
    item = search(api, community, "boss")[0]
    assert set(item) == {"id", "userId", "communityId", "joinedAt", "user"}
    assert (item["userId"], item["communityId"]) == (str(community.target.id), str(community.id))
    assert item["user"]["displayName"] == "Big Boss" and "email" not in item["user"]
    membership = memberships.get(community.id, str(community.target.id))
    assert item["id"] == str(membership.id) and item["joinedAt"] == iso(membership.joined_at)


def test_renames_joins_leaves_and_disabling_show_at_once(community, factory, login_as):
    api = login_as(community.admin)
    users.update_profile(community.nopc, {"displayName": "Zorro"})
    assert names(search(api, community, "zorro")) == ["nopc"]
    users.update_profile(community.nopc, {"displayName": "Quiet"})
    assert names(search(api, community, "zorro")) == [] and names(search(api, community, "quiet")) == ["nopc"]
    users.update_profile(community.nopc, {"displayName": None})
    assert names(search(api, community, "quiet")) == []
    newcomer = factory.user("zed")
    factory.member(newcomer, community)
    assert names(search(api, community, "ze")) == ["zed"]
    memberships.remove(community.id, newcomer.id)
    assert names(search(api, community, "ze")) == []
    users.set_disabled(str(community.pcmember.id), True)
    assert names(search(api, community, "pc")) == ["nopc"]
    users.set_disabled(str(community.pcmember.id), False)
    assert names(search(api, community, "pc")) == ["nopc", "pcmember"]
    # preferences change no name: the directory is not rewritten
    version = MemberDirectory.objects(id=community.id).get().v
    users.set_preferences(community.member, {"theme": "dark"})
    assert MemberDirectory.objects(id=community.id).get().v == version


def test_the_limit_is_capped_at_fifty(community, factory, login_as):
    for i in range(52):
        factory.member(factory.user(f"u{i:02d}"), community)
    api = login_as(community.member)
    assert len(search(api, community, "u", 500)) == 50
    assert len(search(api, community)) == 10  # the default
    assert names(search(api, community, "u5", 50)) == ["u50", "u51"]


@pytest.mark.parametrize("who, target, params, status", [
    ("member", "C", "limit=abc", 400), ("member", "C", "limit=0", 400), ("member", "C", "limit=-3", 400),
    ("member", "C", "query=a&query=b", 400), ("member", "C", "query=" + "x" * 101, 400),
    ("outsider", "C", "", 403), ("removed", "C", "", 403), ("member", "missing", "", 404),
])
def test_search_refusals(community, login_as, who, target, params, status):
    cid = str(community.id) if target == "C" else str(ObjectId())
    response = login_as(community.people[who]).get(f"/api/membership/community/{cid}/search?{params}")
    assert response.status_code == status, response.get_json()


def test_a_missing_directory_is_built_on_first_search_and_a_deleted_community_loses_it(community, login_as):
    MemberDirectory.objects(id=community.id).delete()
    assert names(search(login_as(community.member), community, "pcm")) == ["pcmember"]
    assert MemberDirectory.objects(id=community.id).count() == 1
    communities.purge(community.id)
    assert MemberDirectory.objects(id=community.id).count() == 0


def test_concurrent_joins_and_renames_leave_the_directory_exact(app, community, factory):
    people = [factory.user(f"p{i}") for i in range(6)]
    renamer = people[0]
    factory.member(renamer, community)

    def join(user):
        return lambda: factory.member(user, community)

    def renames():
        for i in range(8):
            users.update_profile(renamer, {"displayName": f"name{i}"})

    def flips():
        for _ in range(4):
            memberships.remove(community.id, renamer.id)
            memberships.join(renamer.id, community.id)

    race(app, [join(u) for u in people[1:]] + [renames, flips])
    written = MemberDirectory.objects(id=community.id).get().text
    assert written == directory.rebuild(community.id)
    assert any(line.startswith(f"p0{directory.SEP}name7{directory.SEP}{renamer.id}{directory.SEP}")
               for line in written.split("\n"))
    assert all(f"{u.username}{directory.SEP}" in written for u in people)
