"""The permission cache never serves a stale "allowed": exact invalidation, in one process and across two."""
import pytest
import requests
from pymongo import MongoClient

from kraken import permcache
from kraken.extensions import redis
from tests.live import LiveServer


def test_an_answer_computed_before_a_change_is_not_stored():
    calls = []

    def compute_while_someone_revokes():
        calls.append(1)
        permcache.invalidate("c1")  # the revocation lands while we compute from old data
        return {"member": True, "actions": ["OLD"], "channels": []}

    assert permcache.cached("c1", "u1", compute_while_someone_revokes)[0]["actions"] == ["OLD"]
    assert redis.hget(permcache.PREFIX + "perm:c1", "u1") is None
    fresh, generation = permcache.cached("c1", "u1", lambda: {"member": True, "actions": ["NEW"], "channels": []})
    assert generation == redis.get(permcache.PREFIX + "permgen:c1")
    assert fresh["actions"] == ["NEW"]
    assert permcache.cached("c1", "u1", lambda: pytest.fail("should be cached"))[0]["actions"] == ["NEW"]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory, settings):
    db_url = settings.mongodb_url.rsplit("/", 1)[0] + "/kraken_cache_two_procs"
    env = {"KRAKEN_ENV": "test", "MONGODB_URL": db_url, "REDIS_URL": settings.redis_url.rsplit("/", 1)[0] + "/14",
           "KRAKEN_DATA_DIR": str(tmp_path_factory.mktemp("data")), "KRAKEN_RATE_LIMITS": "false",
           "KRAKEN_ARGON2_MEMORY_KIB": "1024", "KRAKEN_ARGON2_TIME_COST": "1"}
    MongoClient(db_url).drop_database("kraken_cache_two_procs")
    logs = tmp_path_factory.mktemp("logs")
    a = LiveServer(env, logs / "a.log").start()
    b = LiveServer(env, logs / "b.log").start()
    yield a, b
    a.stop()
    b.stop()
    MongoClient(db_url).drop_database("kraken_cache_two_procs")


def _session(server, username, password):
    token = requests.post(server.url + "/api/auth/login",
                          json={"username": username, "password": password}).json()["accessToken"]
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def _owner_inviting(server, username):
    """The owner's session (the owner is created once per module) after `username` registered by invite."""
    server.flask_cli("create-owner", "root", extra_env={"KRAKEN_OWNER_PASSWORD": "root password"})  # or exists
    root = _session(server, "root", "root password")
    code = root.post(server.url + "/api/invite", json={}).json()["code"]
    assert requests.post(server.url + "/api/users", json={"username": username, "password": "longenough",
                                                          "code": code}).status_code == 201
    return root


def test_grant_then_revoke_is_seen_by_the_other_process_on_the_next_request(two_processes):
    a, b = two_processes
    assert a.flask_cli("create-owner", "root", extra_env={"KRAKEN_OWNER_PASSWORD": "root password"}).returncode == 0
    root = _session(a, "root", "root password")
    code = root.post(a.url + "/api/invite", json={}).json()["code"]
    for name in ("admin", "bob"):
        assert requests.post(a.url + "/api/users", json={"username": name, "password": "longenough",
                                                         "code": code}).status_code == 201
    admin_a, bob_b = _session(a, "admin", "longenough"), _session(b, "bob", "longenough")
    bob_id = bob_b.get(b.url + "/api/users/profile").json()["id"]
    cid = admin_a.post(a.url + "/api/community", json={"name": "Club"}).json()["id"]
    assert admin_a.post(a.url + "/api/membership", json={"userId": bob_id, "communityId": cid}).status_code == 201
    role = admin_a.post(a.url + f"/api/roles/community/{cid}",
                        json={"name": "Builder", "actions": ["CREATE_CHANNEL", "READ_COMMUNITY"]}).json()

    def bob_creates(name):
        return bob_b.post(b.url + "/api/channels", json={"name": name, "communityId": cid, "type": "TEXT"}).status_code

    assert bob_creates("one") == 403  # cached on B: not allowed
    assert admin_a.post(a.url + f"/api/roles/community/{cid}/assign",
                        json={"userId": bob_id, "roleId": role["id"]}).status_code == 204
    assert bob_creates("two") == 201  # granted on A, allowed on B at once
    assert bob_creates("three") == 201  # (now cached on B as allowed)
    assert admin_a.delete(a.url + f"/api/roles/community/{cid}/users/{bob_id}/roles/{role['id']}").status_code == 204
    assert bob_creates("four") == 403  # revoked on A, denied on B on the very next request

    # private channel: member, then removed
    pid = admin_a.post(a.url + "/api/channels", json={"name": "p", "communityId": cid, "type": "TEXT",
                                                       "isPrivate": True}).json()["id"]
    admin_a.post(a.url + "/api/channel-membership", json={"userId": bob_id, "channelId": pid})
    assert bob_b.get(b.url + f"/api/channels/{pid}").status_code == 200
    assert admin_a.delete(a.url + f"/api/channel-membership/channel/{pid}/user/{bob_id}").status_code == 204
    assert bob_b.get(b.url + f"/api/channels/{pid}").status_code == 404

    # kick
    assert bob_b.get(b.url + f"/api/community/{cid}").status_code == 200
    assert admin_a.delete(a.url + f"/api/membership/community/{cid}/user/{bob_id}").status_code == 204
    assert bob_b.get(b.url + f"/api/community/{cid}").status_code == 403
    assert bob_b.get(b.url + f"/api/channels/community/{cid}").status_code == 403


def test_each_process_s_copies_of_users_communities_and_channels_follow_writes_on_the_other(two_processes):
    """kraken.localcache: B keeps copies of what it served; writes on A are seen on B's very next request."""
    a, b = two_processes
    root = _owner_inviting(a, "carol")
    carol_a, carol_b = _session(a, "carol", "longenough"), _session(b, "carol", "longenough")
    cid = carol_a.post(a.url + "/api/community", json={"name": "Copies"}).json()["id"]

    def names_on_b():
        return sorted(c["name"] for c in carol_b.get(b.url + f"/api/channels/community/{cid}").json())

    first = names_on_b()
    channel = carol_a.post(a.url + "/api/channels", json={"name": "news", "communityId": cid, "type": "TEXT"}).json()
    assert names_on_b() == sorted([*first, "news"])  # created on A
    assert carol_b.get(b.url + f"/api/channels/{channel['id']}").json()["name"] == "news"
    assert carol_a.patch(a.url + f"/api/channels/{channel['id']}", json={"name": "updates"}).status_code == 200
    assert carol_b.get(b.url + f"/api/channels/{channel['id']}").json()["name"] == "updates"
    assert names_on_b() == sorted([*first, "updates"])
    assert carol_a.delete(a.url + f"/api/channels/{channel['id']}").status_code == 204
    assert carol_b.get(b.url + f"/api/channels/{channel['id']}").status_code == 404
    assert names_on_b() == first

    assert carol_b.get(b.url + f"/api/community/{cid}").json()["name"] == "Copies"
    assert carol_a.patch(a.url + f"/api/community/{cid}", json={"name": "Renamed"}).status_code == 200
    assert carol_b.get(b.url + f"/api/community/{cid}").json()["name"] == "Renamed"

    assert carol_b.get(b.url + "/api/users/profile").json()["displayName"] == "carol"
    assert carol_a.patch(a.url + "/api/users/profile", json={"displayName": "Carol C."}).status_code == 200
    assert carol_b.get(b.url + "/api/users/profile").json()["displayName"] == "Carol C."
    def my_roles_on_b():
        return sorted(r["name"] for r in carol_b.get(b.url + f"/api/roles/my/community/{cid}").json()["roles"])

    def roles_on_b():
        return sorted(r["name"] for r in carol_b.get(b.url + f"/api/roles/community/{cid}").json()["roles"])

    mine, listed = my_roles_on_b(), roles_on_b()
    role = carol_a.post(a.url + f"/api/roles/community/{cid}", json={"name": "Helper", "actions": ["READ_ROLE"]}).json()
    assert roles_on_b() == sorted([*listed, "Helper"]) and my_roles_on_b() == mine
    user_id = carol_b.get(b.url + "/api/users/profile").json()["id"]
    assert carol_a.post(a.url + f"/api/roles/community/{cid}/assign",
                        json={"userId": user_id, "roleId": role["id"]}).status_code == 204
    assert my_roles_on_b() == sorted([*mine, "Helper"])
    assert carol_a.put(a.url + f"/api/roles/community/{cid}/{role['id']}",
                       json={"name": "Aide"}).status_code == 200
    assert my_roles_on_b() == sorted([*mine, "Aide"]) and "Aide" in roles_on_b()

    assert carol_a.delete(a.url + f"/api/community/{cid}").status_code == 204
    assert carol_b.get(b.url + f"/api/community/{cid}").status_code == 404


def test_a_logout_or_a_disable_on_one_process_is_refused_by_the_other_on_the_next_request(two_processes):
    """B holds the token's revocation markers and the user's generation (kraken.tracking): Redis sends
    B the invalidation as it answers A's write, so B's very next request is refused."""
    a, b = two_processes
    root = _owner_inviting(a, "dave")

    def profile_on_b(session):
        return session.get(b.url + "/api/users/profile").status_code

    for revoke in ("logout", "disable"):
        dave_b = _session(b, "dave", "longenough")
        assert [profile_on_b(dave_b) for _ in range(3)] == [200] * 3  # now answered from B's copies
        if revoke == "logout":
            assert requests.post(a.url + "/api/auth/logout",
                                 headers={"Authorization": dave_b.headers["Authorization"]}).status_code == 201
        else:
            user_id = dave_b.get(b.url + "/api/users/profile").json()["id"]
            assert root.post(a.url + f"/api/users/{user_id}/disable").status_code == 200
        assert profile_on_b(dave_b) == 401, revoke
        assert profile_on_b(dave_b) == 401, revoke


def test_history_held_by_one_process_follows_sends_edits_and_deletes_on_the_other(two_processes):
    a, b = two_processes
    a.flask_cli("create-owner", "root", extra_env={"KRAKEN_OWNER_PASSWORD": "root password"})  # or exists
    root_a, root_b = _session(a, "root", "root password"), _session(b, "root", "root password")
    cid = root_a.post(a.url + "/api/community", json={"name": "Chatter"}).json()["id"]
    channel_id = root_a.post(a.url + "/api/channels", json={"name": "talk", "communityId": cid,
                                                            "type": "TEXT"}).json()["id"]

    def send(value):
        return root_a.post(a.url + "/api/messages", json={
            "channelId": channel_id, "spans": [{"type": "PLAINTEXT", "text": value}], "attachments": []}).json()["id"]

    def texts_on_b(limit=50):
        page = root_b.get(b.url + f"/api/messages/channel/{channel_id}?limit={limit}").json()["messages"]
        return [m["spans"][0]["text"] for m in page]

    first = send("one")
    assert texts_on_b() == texts_on_b() == ["one"]  # B now holds the channel's recent list
    second = send("two")
    assert texts_on_b() == ["two", "one"]
    assert root_a.patch(a.url + f"/api/messages/{first}",
                        json={"spans": [{"type": "PLAINTEXT", "text": "uno"}]}).status_code == 200
    assert texts_on_b() == ["two", "uno"]
    assert root_a.delete(a.url + f"/api/messages/{second}").status_code in (200, 204)
    assert texts_on_b() == ["uno"]
