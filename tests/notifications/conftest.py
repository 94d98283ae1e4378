"""The live servers and socket clients of tests/realtime, for the notification tests over real sockets."""
from tests.realtime.conftest import live, live_b, sockets  # noqa: F401 - fixtures
