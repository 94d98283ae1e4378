"""Live servers and socket clients for the moderation tests: the realtime suite's fixtures."""
from tests.realtime.conftest import live, live_b, sockets, token_for  # noqa: F401 - fixtures
