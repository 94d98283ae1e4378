"""The live servers of tests/realtime, for the tests that change settings on one process and use another."""
from tests.realtime.conftest import live, live_b, sockets  # noqa: F401
