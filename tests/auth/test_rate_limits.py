"""Rate limits on Redis (docs/decisions/0024-rate-limits.md), on an app with limits switched on:
the current web client's normal traffic never meets them, abuse does."""
from collections import Counter

import pytest

from kraken import create_app
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def limited(tmp_path_factory, app):
    limited_app = create_app(make_settings(data_dir=tmp_path_factory.mktemp("limited"), rate_limits=True))
    yield limited_app


def client_from(app, ip):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_failed_logins_are_limited_per_username_across_ips(limited, factory):
    with limited.app_context():
        factory.owner("victim")
    statuses = [client_from(limited, f"10.0.0.{i}").post(
        "/api/auth/login", json={"username": "victim", "password": "guess"}).status_code for i in range(7)]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
    blocked = client_from(limited, "10.0.1.1").post("/api/auth/login",
                                                    json={"username": "VICTIM", "password": "guess"})
    assert blocked.status_code == 429
    assert blocked.get_json() == {"statusCode": 429, "error": "Too Many Requests",
                                  "message": "Too Many Requests", "code": "TOO_MANY_REQUESTS"}
    assert int(blocked.headers["Retry-After"]) >= 1
    assert "X-RateLimit-Limit" in blocked.headers and "X-RateLimit-Remaining" in blocked.headers


def test_successful_logins_do_not_count_as_failures(limited, factory):
    with limited.app_context():
        factory.owner("regular")
    ok = [client_from(limited, f"10.1.0.{i}").post(
        "/api/auth/login", json={"username": "regular", "password": factory.PASSWORD}).status_code
        for i in range(8)]
    assert ok == [200] * 8


def test_registration_is_limited_per_ip(limited):
    client = client_from(limited, "10.2.0.1")
    statuses = [client.post("/api/users", json={"username": f"r{i}", "password": "longenough",
                                                 "code": "nope"}).status_code for i in range(5)]
    assert statuses[:3] == [404] * 3 and 429 in statuses[3:]
    assert client_from(limited, "10.2.0.2").post("/api/users", json={}).status_code == 400


def test_two_tabs_refreshing_often_are_not_throttled(limited, factory):
    with limited.app_context():
        factory.owner("tabs")
    client = client_from(limited, "10.3.0.1")
    assert client.post("/api/auth/login", json={"username": "tabs", "password": factory.PASSWORD}).status_code == 200
    assert [client.post("/api/auth/refresh").status_code for _ in range(20)] == [200] * 20


def test_default_tiers_count_per_authenticated_user_not_per_ip(limited, factory):
    with limited.app_context():
        factory.owner("first")
        a, b = factory.user("nat-a"), factory.user("nat-b")
    tokens = []
    for user in (a, b):
        c = client_from(limited, "10.4.0.1")
        tokens.append(c.post("/api/auth/login", json={"username": user.username,
                                                       "password": factory.PASSWORD}).get_json()["accessToken"])
    client = client_from(limited, "10.4.0.1")
    first, second = ({"Authorization": f"Bearer {t}"} for t in tokens)
    # writes: 3 a second, 20 in 10 s (WRITE_TIERS in kraken.ratelimits; 21 overrun it on any machine)
    writes = [client.patch("/api/users/profile", json={}, headers=first).status_code for _ in range(21)]
    assert writes[:3] == [200] * 3 and set(writes) == {200, 429} and writes.count(200) <= 20
    assert client.patch("/api/users/profile", json={}, headers=second).status_code == 200  # same IP, own budget
    # reads: 20 a second, 100 in 10 s (READ_TIERS)
    reads = [client.get("/api/users/profile", headers=first).status_code for _ in range(101)]
    assert reads[:20] == [200] * 20 and set(reads) == {200, 429} and reads.count(200) <= 100
    assert client.get("/api/users/profile", headers=second).status_code == 200


# --- the current web client's traffic (README, "Rate limits") ----------------------------------

def page_load(ids) -> list[tuple[str, str]]:
    """The requests the current web client makes to show a community channel (frontend/src@HEAD of
    the reference): one per route for the lists, one `GET /api/users/:id` per member listed (the
    authors in view share that cache) and one `GET /api/file/:id` per avatar shown."""
    community, channel, voice = ids["community"], ids["channel"], ids["voice"]
    return [
        ("POST", "/api/auth/refresh"),                      # AuthGate: a token for this tab
        ("GET", "/api/onboarding/status"),                  # AuthGate
        ("GET", "/api/users/profile"),                      # useCurrentUser
        ("GET", "/api/roles/my/instance"),                  # CommunityToggle: may create communities?
        ("GET", "/api/community/mine"),                     # CommunityToggle
        ("GET", f"/api/community/{community}"),             # CommunityPage
        ("GET", f"/api/channels/{channel}"),                # CommunityPage, ChannelMessageContainer
        ("GET", f"/api/channels/community/{community}"),    # ChannelList
        ("GET", f"/api/roles/my/community/{community}"),    # useUserPermissions (COMMUNITY)
        ("GET", f"/api/membership/community/{community}"),  # MemberListContainer, mentions
        ("GET", "/api/presence/users/" + ",".join(ids["members"])),  # MemberListContainer
        ("GET", f"/api/messages/channel/{channel}?limit=25&continuationToken="),  # first page
        ("GET", f"/api/channels/{voice}/voice-presence"),   # VoiceChannelUserList, per voice channel
        *[("GET", f"/api/users/{member}") for member in ids["members"]],  # UserAvatar, per member
        *[("GET", f"/api/file/{avatar}") for avatar in ids["avatars"]],    # useAuthenticatedImage
    ]


def refetch_on_focus(ids) -> list[tuple[str, str]]:
    """TanStack Query refetches every stale list on window focus (users are fresh for 5 minutes)."""
    return [call for call in page_load(ids)[2:13]]


def channel_switch(channel) -> list[tuple[str, str]]:
    return [("GET", f"/api/channels/{channel}"),
            ("GET", f"/api/messages/channel/{channel}?limit=25&continuationToken=")]


@pytest.fixture
def fifty_members(limited, factory):
    """A community of 50 members (alice, its creator, and 49 others), each with an avatar; two
    text channels with 25 messages each, and the voice channel."""
    from tests.files.conftest import PNG
    with limited.app_context():
        factory.owner("root")
        alice = factory.user("alice")
        club = factory.community(alice, "Fifty")
        members = [alice] + [factory.user(f"member{i}") for i in range(49)]
        avatars = []
        for member in members:
            if member is not alice:
                factory.member(member, club)
            avatars.append(str(factory.file(member, content=PNG, filename="me.png", resource_type="USER_AVATAR").id))
        text = [factory.default_channel(club), factory.channel(club, alice, "random")]
        for channel in text:
            for i in range(25):
                factory.send(members[i % 10], channel, f"hi {i}")
        voice = factory.default_channel(club, "VOICE")
    return {"alice": alice, "community": str(club.id), "channel": str(text[0].id), "other": str(text[1].id),
            "voice": str(voice.id), "members": [str(m.id) for m in members], "avatars": avatars}


def test_a_50_member_page_load_and_channel_switches_never_see_a_429(limited, fifty_members, factory):
    ids = fifty_members
    client = client_from(limited, "10.5.0.1")
    login = client.post("/api/auth/login", json={"username": "alice", "password": factory.PASSWORD})
    token = login.get_json()["accessToken"]
    # a page load, a refetch on focus, three channel switches and a reload, as fast as they go
    # (~0.5 s here): each route's whole share lands in one 1 s window, the worst case
    traffic = page_load(ids) + refetch_on_focus(ids)
    for channel in (ids["other"], ids["channel"], ids["other"]):
        traffic += channel_switch(channel)
    traffic += page_load(ids)
    statuses = Counter()
    for method, path in traffic:
        response = client.open(path, method=method, headers={"Authorization": f"Bearer {token}"})
        statuses[(method, path.split("?")[0], response.status_code)] += 1
        if path == "/api/auth/refresh":
            token = response.get_json()["accessToken"]
    assert not [key for key in statuses if key[2] == 429], statuses
    assert {key[2] for key in statuses} == {200}, statuses
    per_route = Counter()
    for (method, path, _), count in statuses.items():
        per_route[(method, _route(path, ids))] += count
    assert per_route[("GET", "/api/users/:id")] == 100 and per_route[("GET", "/api/file/:id")] == 100
    assert per_route[("GET", "/api/messages/channel/:id")] == 6


def _route(path: str, ids) -> str:
    for value in [*ids["members"], *ids["avatars"], ids["community"], ids["channel"], ids["other"], ids["voice"]]:
        path = path.replace(value, ":id")
    return path


def test_abuse_limits_still_hold_next_to_the_client_sized_ones(limited, fifty_members, factory):
    ids = fifty_members
    client = client_from(limited, "10.6.0.1")
    login = client.post("/api/auth/login", json={"username": "alice", "password": factory.PASSWORD})
    auth = {"Authorization": f"Bearer {login.get_json()['accessToken']}"}
    # message sends: still 3 a second, 20 in 10 s (however slow the machine, 21 overrun the latter)
    body = {"channelId": ids["channel"], "spans": [{"type": "PLAINTEXT", "text": "spam"}]}
    sends = [client.post("/api/messages", json=body, headers=auth).status_code for _ in range(21)]
    assert sends[:3] == [201] * 3 and set(sends) == {201, 429} and sends.count(201) <= 20
    # refresh: 30 per token family in 10 s, whether the cookies presented are good or forged
    family = client.get_cookie("refresh_token").value.split(".")[0]
    forger = limited.test_client(use_cookies=False)
    forged = [forger.post("/api/auth/refresh", headers={"Cookie": f"refresh_token={family}.{'0' * 24}.x{i}"})
              .status_code for i in range(30)]
    assert forged == [401] * 30
    assert client.post("/api/auth/refresh").status_code == 429
    # and the per-member lookups have a ceiling too: 100 a second, 500 in 10 s
    member = ids["members"][1]
    lookups = [client.get(f"/api/users/{member}", headers=auth).status_code for _ in range(501)]
    assert lookups[:100] == [200] * 100 and set(lookups) == {200, 429} and lookups.count(200) <= 500
