"""The storage views: my usage, someone's, the list by percent used, the instance, quota changes."""
from __future__ import annotations

import os

from kraken.users.models import User
from tests.files.conftest import PDF, PNG, upload
from tests.storage.conftest import set_quota, settings_row, usage


def png_of(size: int) -> bytes:
    return PNG[:16] + os.urandom(size - 16)


def test_my_usage_counts_my_files(alice, club, login_as):
    set_quota(alice, 10_000)
    api = login_as(alice)
    upload(api, png_of(2500), resource_id=club["general"])
    assert api.get("/api/storage/my-usage").get_json() == {
        "userId": str(alice.id), "username": "alice", "usedBytes": 2500, "quotaBytes": 10_000,
        "percentUsed": 25.0, "fileCount": 1}


def test_a_user_view_and_a_quota_change(alice, keeper, login_as):
    admin = login_as(keeper)
    response = admin.patch(f"/api/storage/users/{alice.id}/quota", json={"quotaBytes": 3000})
    assert response.status_code == 200 and response.get_json()["quotaBytes"] == 3000
    assert User.objects.get(id=alice.id).storage_quota_bytes == 3000
    assert admin.get(f"/api/storage/users/{alice.id}").get_json()["quotaBytes"] == 3000


def test_unknown_user_is_404_and_bad_quota_400(keeper, login_as):
    admin = login_as(keeper)
    missing = "0123456789abcdef01234567"
    assert admin.get(f"/api/storage/users/{missing}").status_code == 404
    assert admin.post(f"/api/storage/users/{missing}/recalculate").status_code == 404
    assert admin.patch(f"/api/storage/users/{missing}/quota", json={"quotaBytes": 1}).status_code == 404
    for bad in ({"quotaBytes": -1}, {"quotaBytes": "1"}, {"quotaBytes": 1.5}, {}):
        assert admin.patch(f"/api/storage/users/{keeper.id}/quota", json=bad).status_code == 400, bad
    assert admin.get("/api/storage/users?take=0").status_code == 400


def test_users_are_listed_by_percent_used_with_a_floor_and_pages(alice, bob, keeper, club, login_as):
    set_quota(alice, 4000)
    set_quota(bob, 2000)
    upload(login_as(alice), png_of(1000), resource_id=club["general"])   # 25 %
    upload(login_as(bob), png_of(1500), resource_id=club["general"])     # 75 %
    admin = login_as(keeper)
    page = admin.get("/api/storage/users?take=2").get_json()
    assert [u["username"] for u in page["users"]] == ["bob", "alice"] and page["total"] >= 4
    assert page["users"][0]["percentUsed"] == 75.0 and page["users"][0]["fileCount"] == 1
    floor = admin.get("/api/storage/users?minPercentUsed=50").get_json()
    assert [u["username"] for u in floor["users"]] == ["bob"] and floor["total"] == 1
    assert admin.get("/api/storage/users?skip=1&take=1").get_json()["users"][0]["username"] == "alice"


def test_instance_view_sums_users_and_types(alice, bob, keeper, club, login_as):
    settings_row(maxFileSizeBytes=10 * 2 ** 20, defaultStorageQuotaBytes=2 ** 30)
    set_quota(bob, 2000)
    upload(login_as(alice), png_of(1000), resource_id=club["general"])
    upload(login_as(alice), PDF, "p.pdf", "application/pdf", resource_id=club["general"])
    upload(login_as(bob), png_of(1900), resource_id=club["general"])          # 95 %: over
    view = login_as(keeper).get("/api/storage/instance").get_json()
    assert view["totalStorageUsedBytes"] == 1000 + len(PDF) + 1900 == usage(alice) + usage(bob)
    assert view["totalFileCount"] == 3
    assert view["storageByType"] == [{"type": "MESSAGE_ATTACHMENT", "bytes": 2900 + len(PDF), "count": 3}]
    assert view["totalUserCount"] == User.objects.count()
    assert view["usersOverQuota"] == 1 and view["userStorageDistribution"]["over90Percent"] == 1
    assert sum(view["userStorageDistribution"].values()) == view["totalUserCount"]
    assert view["maxFileSizeBytes"] == 10 * 2 ** 20 and view["defaultQuotaBytes"] == 2 ** 30
    assert view["server"]["cpuCores"] >= 1 and view["server"]["diskTotalBytes"] > 0


def test_the_configured_upload_limit_is_a_ceiling_no_setting_lifts(app, alice, keeper, login_as):
    settings_row(maxFileSizeBytes=10 ** 12)
    view = login_as(keeper).get("/api/storage/instance").get_json()
    assert view["maxFileSizeBytes"] == app.extensions["kraken.settings"].max_upload_bytes


def test_without_the_action_storage_views_are_403_and_change_nothing(alice, bob, login_as):
    api = login_as(bob)
    for method, path, body in (("GET", "/api/storage/instance", None), ("GET", "/api/storage/users", None),
                               ("GET", f"/api/storage/users/{alice.id}", None),
                               ("PATCH", f"/api/storage/users/{alice.id}/quota", {"quotaBytes": 1}),
                               ("POST", f"/api/storage/users/{alice.id}/recalculate", None)):
        response = api.open(method, path, json=body)
        assert response.status_code == 403, (path, response.get_json())
    assert User.objects.get(id=alice.id).storage_quota_bytes == 50 * 2 ** 30
