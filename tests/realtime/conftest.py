"""A live server (gunicorn, gevent-websocket) on the test session's database and Redis, and socket clients."""
from __future__ import annotations

import pytest

from tests.live import LiveServer
from tests.realtime.sockets import SocketClient


def live_env(settings, tmp_path_factory, **extra) -> dict[str, str]:
    return {"KRAKEN_ENV": "test", "MONGODB_URL": settings.mongodb_url, "REDIS_URL": settings.redis_url,
            "KRAKEN_DATA_DIR": str(tmp_path_factory.mktemp("live")), "KRAKEN_ARGON2_MEMORY_KIB": "1024",
            "KRAKEN_ARGON2_TIME_COST": "1", "JWT_SECRET": settings.jwt_secret,
            "JWT_REFRESH_SECRET": settings.jwt_refresh_secret, "KRAKEN_PRESENCE_TTL": "6",
            "KRAKEN_PRESENCE_GRACE": "0",
            # no periodic search sweep: it would index the seeded conversations of whichever test runs then
            "KRAKEN_SEARCH_SWEEP_SECONDS": "0",
            "CORS_ORIGINS": "http://localhost:5173", **extra}


@pytest.fixture(scope="module")
def live(settings, tmp_path_factory, app):
    server = LiveServer(live_env(settings, tmp_path_factory), tmp_path_factory.mktemp("logs") / "live.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_b(settings, tmp_path_factory, live):
    """A second app process on the same database and Redis (another gunicorn, as behind nginx);
    per module, so no idle process outlives the tests that use it."""
    server = LiveServer(live_env(settings, tmp_path_factory), tmp_path_factory.mktemp("logs") / "live-b.log").start()
    yield server
    server.stop()


@pytest.fixture
def sockets():
    """sockets(url, token) -> a connected SocketClient, closed after the test."""
    opened: list[SocketClient] = []

    def _open(url: str, token: str | None, connect: bool = True, **kw) -> SocketClient:
        client = SocketClient(url, token, **kw)
        opened.append(client)
        return client.connect() if connect else client

    yield _open
    for client in opened:
        client.close()


@pytest.fixture
def token_for(app):
    """token_for(user) -> a fresh access token (a new session), without going through HTTP."""
    from kraken.auth.service import start_session
    return lambda user: start_session(user).access_token
