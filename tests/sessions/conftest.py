"""The live servers and socket clients of tests/realtime, for the sessions' two-process test."""
from tests.realtime.conftest import live, live_b, sockets  # noqa: F401 - fixtures
