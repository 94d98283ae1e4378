"""Live servers and socket clients for the sessions' two-process test: tests/realtime's, but the first
server per module too, so no idle process outlives the tests that use it."""
import pytest

from tests.live import LiveServer
from tests.realtime.conftest import live_b, live_env, sockets  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def live(settings, tmp_path_factory, app):
    server = LiveServer(live_env(settings, tmp_path_factory), tmp_path_factory.mktemp("logs") / "live.log").start()
    yield server
    server.stop()
