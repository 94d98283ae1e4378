"""`/api/users/admin/*` (kraken-head-features §12.1; decision 0063)."""
from __future__ import annotations

import threading

import pytest

from kraken.auth.models import RefreshFamily
from kraken.messages.models import Message
from kraken.memberships.models import Membership
from kraken.roles import service as roles
from kraken.users import directory
from kraken.users.directory import UserGram
from kraken.users.models import User
from tests.factories import dump


@pytest.fixture
def root(factory):
    return factory.owner("root")


@pytest.fixture
def as_root(factory, root):
    return factory.api(root)


@pytest.fixture
def instance_admin(factory, root):
    user = factory.user("iadmin")
    roles.ensure_instance_roles()
    admin_role = next(r for r in roles.instance_roles() if r.name == "Instance Admin")
    roles.give(user.id, admin_role)
    return user


def _ids(page) -> list[str]:
    return [u["id"] for u in page["users"]]


def _all_pages(api, query: str = "", limit: int = 3, between=None) -> list[str]:
    seen, token = [], None
    while True:
        url = f"/api/users/admin/list?limit={limit}{query}" + (f"&continuationToken={token}" if token else "")
        response = api.get(url)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        seen += _ids(page)
        token = page.get("continuationToken")
        if between:
            between()
        if not token:
            return seen


def test_the_list_is_newest_first_with_every_field(as_root, factory, root):
    alice = factory.user("alice", email="alice@example.org")
    page = as_root.get("/api/users/admin/list").get_json()
    assert _ids(page) == [str(alice.id), str(root.id)] and "continuationToken" not in page
    row = page["users"][0]
    assert set(row) == {"id", "username", "email", "verified", "role", "createdAt", "avatarUrl", "bannerUrl",
                        "lastSeen", "displayName", "bio", "status", "statusUpdatedAt", "banned", "bannedAt",
                        "bannedById", "storageQuotaBytes", "storageUsedBytes"}
    assert row["email"] == "alice@example.org" and row["banned"] is False and row["storageQuotaBytes"] == 53687091200
    assert "password" not in str(row).lower()


def test_pages_stay_exact_while_users_register(as_root, factory, root):
    made = [factory.user(f"member{i}") for i in range(10)]
    expected = [str(u.id) for u in reversed(made)] + [str(root.id)]
    counter = iter(range(100))
    seen = _all_pages(as_root, limit=3, between=lambda: factory.user(f"late{next(counter)}"))
    assert seen == expected  # no duplicate, no skip, newcomers before the first page


def test_search_finds_substrings_of_username_email_and_display_name(as_root, factory, login_as, reading):
    a = factory.user("squidward", email="tentacles@sea.example")
    b = factory.user("patrick")
    login_as(b).patch("/api/users/profile", json={"displayName": "Star Squid"})
    factory.user("sandy")

    def search(q: str) -> set[str]:
        return {u["username"] for u in as_root.get(f"/api/users/admin/list?search={q}").get_json()["users"]}

    assert search("SQUID") == {"squidward", "patrick"}
    assert search("tacles@") == {"squidward"}
    assert search("quidw") == {"squidward"}
    assert search("zzz") == set()
    assert search("s") == {"squidward", "patrick", "sandy"}  # short: a scan, same answer
    assert search("r%20s") == {"patrick"}  # across a space inside one field
    assert search("rd\ntent") == set()  # never across two fields
    # the display name changes: the index follows
    login_as(b).patch("/api/users/profile", json={"displayName": "Pink"})
    assert search("squid") == {"squidward"}
    assert str(a.id)


def test_search_pages_with_filters(as_root, factory, reading):
    users = [factory.user(f"kraken{i}") for i in range(7)]
    seen = _all_pages(as_root, "&search=raken", limit=2)
    assert seen == [str(u.id) for u in reversed(users)]
    as_root.patch(f"/api/users/admin/{users[2].id}/ban", json={"banned": True})
    assert _all_pages(as_root, "&search=raken&banned=true", limit=2) == [str(users[2].id)]
    assert len(_all_pages(as_root, "&search=raken&banned=false", limit=2)) == 6
    assert _all_pages(as_root, "&role=OWNER") == [str(User.objects.get(role="OWNER").id)]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "banned=maybe", "role=ADMIN",
                                   "continuationToken=nope", "continuationToken=0123456789abcdef01234567"])
def test_bad_list_queries_are_400(as_root, query):
    response = as_root.get(f"/api/users/admin/list?{query}")
    assert response.status_code == 400 and response.get_json()["statusCode"] == 400


def test_get_one_user_and_404(as_root, factory):
    alice = factory.user("alice")
    assert as_root.get(f"/api/users/admin/{alice.id}").get_json()["username"] == "alice"
    assert as_root.get("/api/users/admin/0123456789abcdef01234567").status_code == 404


def test_role_changes_and_the_last_owner(as_root, factory, root):
    alice = factory.user("alice")
    assert as_root.patch(f"/api/users/admin/{root.id}/role", json={"role": "USER"}).status_code == 403
    assert as_root.patch(f"/api/users/admin/{alice.id}/role", json={"role": "ADMIN"}).status_code == 400
    assert as_root.patch("/api/users/admin/0123456789abcdef01234567/role", json={"role": "USER"}).status_code == 404
    promoted = as_root.patch(f"/api/users/admin/{alice.id}/role", json={"role": "OWNER"})
    assert promoted.status_code == 200 and promoted.get_json()["role"] == "OWNER"
    demoted = as_root.patch(f"/api/users/admin/{root.id}/role", json={"role": "USER"})
    assert demoted.status_code == 200 and User.objects.get(id=root.id).role == "USER"
    last = as_root.patch(f"/api/users/admin/{alice.id}/role", json={"role": "USER"})  # root is no owner now
    assert last.status_code == 403


def test_two_owners_demoting_each_other_at_once_leave_an_owner(app, factory, root):
    for _ in range(5):
        other = factory.user()
        User.objects(id=other.id).update_one(set__role="OWNER")
        api_root, api_other = factory.api(root), factory.api(User.objects.get(id=other.id))
        barrier, codes = threading.Barrier(2), []

        def demote(api, target):
            with app.app_context():
                barrier.wait()
                codes.append(api.patch(f"/api/users/admin/{target}/role", json={"role": "USER"}).status_code)

        threads = [threading.Thread(target=demote, args=(api_root, other.id)),
                   threading.Thread(target=demote, args=(api_other, root.id))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert User.objects(role="OWNER").count() >= 1, codes
        User.objects(id=root.id).update_one(set__role="OWNER")
        User.objects(id=other.id).update_one(set__role="USER")


def test_an_instance_admin_cannot_make_an_owner_nor_touch_one(factory, instance_admin, root):
    api = factory.api(instance_admin)
    alice = factory.user("alice")
    before = dump()
    assert api.patch(f"/api/users/admin/{alice.id}/role", json={"role": "OWNER"}).status_code == 403
    assert api.patch(f"/api/users/admin/{instance_admin.id}/role", json={"role": "OWNER"}).status_code == 403
    assert api.patch(f"/api/users/admin/{root.id}/role", json={"role": "USER"}).status_code == 403
    assert api.patch(f"/api/users/admin/{root.id}/ban", json={"banned": True}).status_code == 403
    assert api.delete(f"/api/users/admin/{root.id}").status_code == 403
    assert dump() == before
    # what it may do
    assert api.patch(f"/api/users/admin/{alice.id}/ban", json={"banned": True}).status_code == 200


def test_ban_ends_sessions_and_refuses_the_user(as_root, factory, root, login_as, client):
    alice = factory.user("alice")
    api = login_as(alice)
    banned = as_root.patch(f"/api/users/admin/{alice.id}/ban", json={"banned": True})
    body = banned.get_json()
    assert banned.status_code == 200 and body["banned"] is True and body["bannedById"] == str(root.id)
    assert body["bannedAt"] is not None
    assert RefreshFamily.objects(user_id=alice.id, revoked_at=None).count() == 0
    assert api.get("/api/users/profile").status_code == 401
    assert client.post("/api/auth/login", json={"username": "alice", "password": factory.PASSWORD}).status_code == 401
    assert as_root.get("/api/instance/stats").get_json()["bannedUsers"] == 1
    unbanned = as_root.patch(f"/api/users/admin/{alice.id}/ban", json={"banned": False}).get_json()
    assert unbanned["banned"] is False and unbanned["bannedAt"] is None and unbanned["bannedById"] is None
    assert as_root.get("/api/instance/stats").get_json()["bannedUsers"] == 0
    assert login_as(alice).get("/api/users/profile").status_code == 200


def test_ban_refusals(as_root, root, factory):
    assert as_root.patch(f"/api/users/admin/{root.id}/ban", json={"banned": True}).get_json()["message"] == \
        "Cannot ban yourself"
    other_owner = factory.user("boss")
    User.objects(id=other_owner.id).update_one(set__role="OWNER")
    refused = as_root.patch(f"/api/users/admin/{other_owner.id}/ban", json={"banned": True})
    assert refused.status_code == 403 and refused.get_json()["message"] == "Cannot ban an instance owner"
    assert as_root.patch(f"/api/users/admin/{other_owner.id}/ban", json={"banned": "yes"}).status_code == 400
    assert as_root.patch("/api/users/admin/0123456789abcdef01234567/ban", json={"banned": True}).status_code == 404


def test_delete_keeps_messages_as_from_a_deleted_user(as_root, factory, root, login_as):
    alice = factory.user("alice")
    club = factory.community(root, "Deep")
    factory.member(alice, club)
    channel = factory.default_channel(club)
    message = factory.send(alice, channel, "still here")
    assert as_root.delete(f"/api/users/admin/{root.id}").status_code == 403
    deleted = as_root.delete(f"/api/users/admin/{alice.id}")
    assert deleted.status_code == 200 and deleted.get_json() == {"success": True}
    assert User.objects(id=alice.id).count() == 0 and Membership.objects(user_id=alice.id).count() == 0
    assert UserGram.objects(user_id=alice.id).count() == 0
    assert Message.objects(id=message.id).count() == 1
    history = as_root.get(f"/api/messages/channel/{channel.id}").get_json()
    assert any(m["id"] == str(message.id) for m in history["messages"])
    assert as_root.get(f"/api/users/{alice.id}").status_code == 404  # the client shows a deleted user
    assert as_root.delete(f"/api/users/admin/{alice.id}").status_code == 404
    assert as_root.get("/api/instance/stats").get_json()["totalUsers"] == 1


@pytest.fixture(params=["at once", "week by week"])
def reading(request, monkeypatch):
    """The search index read both ways: a rarest trigram's postings at once, or week by week."""
    if request.param == "week by week":
        monkeypatch.setattr(directory, "SCAN_AT_MOST", 0)
    return request.param


def test_search_over_users_created_across_many_weeks(as_root, factory, reading):
    from datetime import timedelta

    from kraken.common.time import utcnow
    made = []
    for i in range(12):  # created 0, 3, 6, ... weeks ago, in that order of age
        user = factory.user(f"nautilus{i}")
        when = utcnow() - timedelta(weeks=3 * (12 - i))
        User.objects(id=user.id).update_one(set__created_at=when)
        user.reload()
        directory.remove(user.id)
        directory.index(user)
        made.append(user)
    factory.user("squid")
    expected = [str(u.id) for u in reversed(made)]
    assert _all_pages(as_root, "&search=autil", limit=5) == expected
    assert _all_pages(as_root, "&search=nautilus1", limit=2) == [str(u.id) for u in reversed(made) if
                                                                  u.username.startswith("nautilus1")]
    counter = iter(range(100))
    assert _all_pages(as_root, "&search=autil", limit=4,
                      between=lambda: factory.user(f"nautilusnew{next(counter)}")) == expected


@pytest.mark.parametrize("grain", ["weekly", "hourly"])
def test_the_list_without_search_walks_the_index_newest_first(as_root, factory, root, monkeypatch, grain):
    """The plain list (and a one- or two-character search) reads the index of every user period by
    period, never every user; by the hour when a week holds more than a round reads. Users created hours
    and weeks apart, with gaps, come back newest first, exact across pages while others register."""
    from datetime import timedelta

    from kraken.common.time import utcnow
    monkeypatch.setattr(directory, "SCAN_AT_MOST", 0)
    monkeypatch.setattr(directory, "ROUND_POSTINGS", 0.1 if grain == "hourly" else 10_000)
    reads: list[dict] = []
    find = directory.UserGram._get_collection().__class__.find

    def counting_find(self, *args, **kwargs):
        if self.name == "user_grams":
            reads.append(args[0] if args else kwargs.get("filter"))
        return find(self, *args, **kwargs)

    monkeypatch.setattr(directory.UserGram._get_collection().__class__, "find", counting_find)
    made = []
    for i, hours in enumerate([24 * 7 * 30, 24 * 7 * 9, 24 * 7 * 9 - 1, 50, 3, 2, 1]):
        user = factory.user(f"walker{i}")
        User.objects(id=user.id).update_one(set__created_at=utcnow() - timedelta(hours=hours))
        user.reload()
        directory.remove(user.id)
        directory.index(user)
        made.append(user)
    expected = [str(root.id)] + [str(u.id) for u in reversed(made)]
    counter = iter(range(100))
    reads.clear()
    assert _all_pages(as_root, limit=2, between=lambda: factory.user(f"newcomer{next(counter)}")) == expected
    keys = [r["key"] for r in reads if r and "key" in r]
    assert keys and all(k.startswith(directory.ALL_HOURLY if grain == "hourly" else f"{directory.ALL}|")
                        for k in keys)
    assert not any(r == {} or (r and "gram" in r) for r in reads)  # never every posting or every user
    assert _all_pages(as_root, "&search=lk", limit=2) == [str(u.id) for u in reversed(made)]
    assert _all_pages(as_root, "&search=r4", limit=2) == [str(made[4].id)]
