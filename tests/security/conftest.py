"""Fixtures of the hardening tests: requests on Club's objects (the `community` fixture), and a live gunicorn (gevent) server
for what only shows under gevent (socket packets on the wire, the log of a failed login)."""
from __future__ import annotations

import re

import pytest
from bson import ObjectId

from tests.live import LiveServer
from tests.realtime.conftest import live_env


@pytest.fixture(scope="session")
def gevent_server(settings, tmp_path_factory, app):
    """`make run`'s server on the test session's database and Redis; rate limits off (the fuzzers
    send hundreds of refused events a second; limits are tested in tests/auth/test_rate_limits.py)."""
    env = live_env(settings, tmp_path_factory, KRAKEN_RATE_LIMITS="false", KRAKEN_LOG_LEVEL="INFO")
    server = LiveServer(env, tmp_path_factory.mktemp("logs") / "security.log").start()
    yield server
    server.stop()


def path_with_ids(rule: str, ids: dict[str, str]) -> str:
    """A URL rule with Club's objects (Club.ids) for its arguments (random ids where it has none)."""
    role = ids["IA"] if rule.startswith("/api/roles/instance") else ids["R"]
    channel = ids["VOICE"] if "voice" in rule or "/livekit/" in rule else ids["G"]
    values = {"community_id": ids["C"], "channel_id": channel, "message_id": ids["MG"], "user_id": ids["member"],
              "role_id": role, "code": ids["CI"], "name": "member", "ids": f"{ids['member']},{ids['admin']}"}
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", lambda m: values.get(m.group(1), str(ObjectId())), rule)
