"""Pins tests use the realtime tests' live server and socket clients."""
from tests.realtime.conftest import live, sockets, token_for  # noqa: F401 - shared fixtures
