"""Shared fixtures: one app per session against the real FerretDB and Redis started by
`make services`; every test starts from an empty database and an empty Redis DB."""
from __future__ import annotations

import os

import mongoengine
import pytest

from kraken import create_app, dependents
from kraken.config import load_settings
from kraken.extensions import redis
from tests.factories import ApiClient, Club, Factory
from tests.redis_dbs import claim

# A database and a Redis DB of this test run's own, so concurrent runs never wipe each other.
MONGODB_URL = os.environ.get("KRAKEN_TEST_MONGODB_URL", f"mongodb://127.0.0.1:27017/kraken_test_{os.getpid()}")
REDIS_URL = os.environ.get("KRAKEN_TEST_REDIS_URL") or f"redis://127.0.0.1:6379/{claim('tests')}"


def make_settings(tmp_path_factory=None, **overrides):
    values = dict(env="test", mongodb_url=MONGODB_URL, redis_url=REDIS_URL, rate_limits=False,
                  log_level="WARNING",
                  # cheap argon2 in tests; test_passwords checks the production parameters
                  argon2_memory_kib=1024, argon2_time_cost=1,
                  # presence changes at once (test_presence checks the grace on its own server)
                  presence_grace=0,
                  # no periodic search sweep in the test process either (tests call sweep() themselves)
                  search_sweep_seconds=0)
    values.update(overrides)
    return load_settings({}, **values)


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    return make_settings(data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def app(settings):
    app = create_app(settings)
    app.testing = True
    with app.app_context():
        yield app
        mongoengine.get_connection().drop_database(mongoengine.get_db().name)


def _wipe() -> None:
    db = mongoengine.get_db()
    for name in db.list_collection_names():
        if name != "migrations":
            db[name].delete_many({})
    redis.flushdb()
    dependents.redo()  # what a process does when its Redis comes back empty (revocation markers)


@pytest.fixture(autouse=True)
def clean_state(app):
    _wipe()
    yield


@pytest.fixture
def client(app) -> ApiClient:
    return ApiClient(app.test_client())


@pytest.fixture
def factory(app) -> Factory:
    return Factory(app)


@pytest.fixture
def community(factory) -> Club:
    """Club and its cast (owner, admin, mod, member, pcmember, nopc, removed, outsider, target,
    stranger: tests/factories.py), with a token per principal. A module that restores one Club per
    case builds it itself: `Factory(app).club().freeze()` in a module-scoped fixture."""
    return factory.club()


@pytest.fixture
def owner(factory):
    """The instance owner (created first, so the users below are plain users)."""
    return factory.owner("root")


@pytest.fixture
def alice(factory, owner):
    return factory.user("alice")


@pytest.fixture
def bob(factory, owner):
    return factory.user("bob")


@pytest.fixture
def carol(factory, owner):
    return factory.user("carol")


@pytest.fixture
def login_as(app, factory):
    """login_as(user, password=...) -> an ApiClient carrying that user's access token and cookie."""
    def _login(user, password: str = Factory.PASSWORD) -> ApiClient:
        api = ApiClient(app.test_client())
        response = api.post("/api/auth/login", json={"username": user.username, "password": password})
        assert response.status_code == 200, response.get_json()
        api.token = response.get_json()["accessToken"]
        return api
    return _login


def pytest_terminal_summary(terminalreporter):
    """Print the sizes of the permission matrices when they ran."""
    import sys
    rest = sys.modules.get("tests.rbac.test_authorization_matrix")
    if rest is not None:
        terminalreporter.write_line(f"authorization matrix (REST): {len(rest.MATRIX)} routes x "
                                    f"{len(rest.PRINCIPALS)} principals = {len(rest.CASES)} cases")
    sockets = sys.modules.get("tests.realtime.test_socket_matrix")
    if sockets is not None:
        terminalreporter.write_line(f"authorization matrix (Socket.IO): {len(sockets.SOCKET_MATRIX)} events x "
                                    f"{len(sockets.PRINCIPALS)} principals = {len(sockets.CASES)} cases")
