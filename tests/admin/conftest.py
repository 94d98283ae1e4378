"""The live server and socket clients of tests/realtime, for the admin tests that watch sockets."""
from tests.realtime.conftest import live, live_b, sockets  # noqa: F401
