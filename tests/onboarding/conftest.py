"""The live servers of tests/realtime, for the setup raced across two processes."""
from tests.realtime.conftest import live, live_b  # noqa: F401
