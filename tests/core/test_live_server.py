"""The app as `make run` serves it (gunicorn, gevent-websocket worker) against its own FerretDB and
Redis, which the tests stop and restart for real: the README quick start, bootstrap and health."""
import json
import subprocess

import pytest
import requests

from tests.live import ROOT, VENV_BIN, LiveServer, PrivateServices, wait_for


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    svc = PrivateServices(tmp_path_factory.mktemp("svc"))
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def server(services, tmp_path_factory):
    srv = LiveServer({"KRAKEN_ENV": "development", "MONGODB_URL": services.mongodb_url,
                      "REDIS_URL": services.redis_url, "KRAKEN_DATA_DIR": str(tmp_path_factory.mktemp("d")),
                      "KRAKEN_LOG_LEVEL": "INFO"},
                     tmp_path_factory.mktemp("log") / "server.log").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin(server):
    """The owner, made with the CLI as the README's quick start does."""
    return server.flask_cli("create-owner", "admin", extra_env={"KRAKEN_OWNER_PASSWORD": "change me now"})


def test_quick_start_owner_login_profile_refresh(server, admin):
    assert admin.returncode == 0, admin.stderr
    assert "owner admin created" in admin.stdout
    again = server.flask_cli("create-owner", "other", extra_env={"KRAKEN_OWNER_PASSWORD": "change me now"})
    assert again.returncode != 0 and "already has an owner" in again.stderr

    http = requests.Session()
    login = http.post(server.url + "/api/auth/login", json={"username": "admin", "password": "change me now"})
    assert login.status_code == 200
    token = login.json()["accessToken"]
    profile = http.get(server.url + "/api/users/profile", headers={"Authorization": f"Bearer {token}"})
    assert profile.json()["role"] == "OWNER"
    refreshed = http.post(server.url + "/api/auth/refresh")  # the session carries the cookie
    assert refreshed.status_code == 200 and refreshed.json()["accessToken"]

    invite = server.flask_cli("create-invite", "--max-uses", "1")
    assert invite.returncode == 0
    code = invite.stdout.strip()
    joined = requests.post(server.url + "/api/users", json={"code": code, "username": "newbie",
                                                             "password": "longenough"})
    assert joined.status_code == 201 and joined.json()["role"] == "USER"


def test_setup_invite_is_logged_when_there_are_no_users(server):
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    setup = [line for line in lines if "setup_invite" in line]
    assert len(setup) == 1 and setup[0]["level"] == "WARNING"
    code = setup[0]["setup_invite"]
    first = requests.post(server.url + "/api/users", json={"code": code, "username": "setup1",
                                                            "password": "longenough"})
    second = requests.post(server.url + "/api/users", json={"code": code, "username": "setup2",
                                                             "password": "longenough"})
    assert first.status_code == 201 and second.status_code == 410  # one use only


def test_requests_are_logged_as_json_lines(server):
    requests.get(server.url + "/api/health", headers={"X-Request-ID": "live-log-check"})
    line = wait_for(lambda: next((json.loads(x) for x in server.output().splitlines()
                                  if "live-log-check" in x), None))
    assert line["path"] == "/api/health" and line["status"] == 200 and line["duration_ms"] >= 0


def test_redis_outage_is_503_on_health_and_auth_but_reads_keep_working(server, services, admin):
    login = requests.post(server.url + "/api/auth/login", json={"username": "admin", "password": "change me now"})
    token = login.json()["accessToken"]
    services.stop("redis")
    try:
        health = requests.get(server.url + "/api/health")
        assert health.status_code == 503
        assert health.json()["info"]["redis"]["status"] == "down"
        assert health.json()["info"]["database"]["status"] == "up"
        denied = requests.post(server.url + "/api/auth/login", json={"username": "admin", "password": "x"})
        assert denied.status_code == 503 and denied.json()["code"] == "SERVICE_UNAVAILABLE"
        read = requests.get(server.url + "/api/users/profile", headers={"Authorization": f"Bearer {token}"})
        assert read.status_code == 200
    finally:
        services.start("redis")
    assert wait_for(lambda: requests.get(server.url + "/api/health").status_code == 200)


def test_database_outage_is_503_with_the_envelope_and_recovers(server, services, admin):
    login = requests.post(server.url + "/api/auth/login", json={"username": "admin", "password": "change me now"})
    token = login.json()["accessToken"]
    services.stop("ferretdb")
    try:
        health = requests.get(server.url + "/api/health", timeout=10)
        assert health.status_code == 503 and health.json()["info"]["database"]["status"] == "down"
        read = requests.get(server.url + "/api/users/profile", headers={"Authorization": f"Bearer {token}"},
                            timeout=10)
        assert read.status_code == 503
        assert read.json() == {"statusCode": 503, "error": "Service Unavailable",
                               "message": "Service temporarily unavailable", "code": "SERVICE_UNAVAILABLE"}
    finally:
        services.start("ferretdb")
    assert wait_for(lambda: requests.get(server.url + "/api/health", timeout=10).status_code == 200, timeout=20)
    assert requests.get(server.url + "/api/users/profile",
                        headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_production_refuses_to_start_without_secrets(tmp_path):
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "KRAKEN_ENV": "production", "KRAKEN_DATA_DIR": str(tmp_path)}
    result = subprocess.run([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "JWT_SECRET" in result.stderr and "JWT_REFRESH_SECRET" in result.stderr
    assert "MONGODB_URL" in result.stderr
