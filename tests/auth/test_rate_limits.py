"""Rate limits on Redis (decisions §10), on an app with limits switched on."""
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
    first = [client.get("/api/users/profile", headers={"Authorization": f"Bearer {tokens[0]}"}).status_code
             for _ in range(4)]
    assert first[:3] == [200] * 3 and first[3] == 429
    other = client.get("/api/users/profile", headers={"Authorization": f"Bearer {tokens[1]}"})
    assert other.status_code == 200  # same IP, different user: own budget
