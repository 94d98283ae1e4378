"""Live servers and socket clients for the lifecycle events (kraken-head-features §7): the fixtures of
tests/realtime, and a cast of sockets that behave like the current client (`subscribeAll` once)."""
from __future__ import annotations

import time
import uuid

import pytest

from kraken.realtime.publish import publish
from kraken.realtime.rooms import community_room, user_room
from tests.factories import ApiClient
from tests.realtime.conftest import live, live_b, sockets, token_for  # noqa: F401 (fixtures)


def connect(sockets, url, token):
    """A socket like the current client's: `subscribeAll` once, nothing else."""
    client = sockets(url, token)
    client.emit("subscribeAll")
    return client


def hears(client, room, timeout: float = 5) -> bool:
    """Publish probes to `room` until `client` hears one (its `subscribeAll` has been applied)."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        publish("probe", {"token": token}, room)
        if client.wait_for("probe", lambda p: p["token"] == token, timeout=0.2):
            return True
    return False


def drained(client, user) -> bool:
    """Everything this process published before now has reached `client`: a probe published now to
    the user's room arrives after it (one queue, in order), so an event not received by then was never
    sent to this socket. No sleep involved."""
    token = uuid.uuid4().hex
    publish("probe", {"token": token}, user_room(user.id))
    return client.wait_for("probe", lambda p: p["token"] == token, timeout=5) is not None


class Cast:
    """alice (creates Club: Community Admin), mod (Club's Moderator: holds UPDATE_CHANNEL), bob (a plain
    member of Club), eve (member of Elsewhere only), root (the instance owner, a member of Club); each
    with a REST client of the test process and, after `.online(url)`, a socket."""

    def __init__(self, app, factory, token_for):
        self.users = {"root": factory.owner("root")}
        self.users.update({n: factory.user(n) for n in ("alice", "mod", "bob", "eve")})
        self.club = factory.community(self.users["alice"], "Club")
        self.elsewhere = factory.community(self.users["eve"], "Elsewhere")
        for name in ("mod", "bob", "root"):
            factory.member(self.users[name], self.club)
        factory.assign(self.users["mod"], factory.default_role(self.club, "Moderator"))
        self.tokens = {n: token_for(u) for n, u in self.users.items()}
        self.rest = {n: ApiClient(app.test_client(), t) for n, t in self.tokens.items()}
        self.sockets = {}

    def online(self, sockets, url, *names):
        for name in names or self.users:
            self.sockets[name] = connect(sockets, url, self.tokens[name])
        for name in names or self.users:
            community = self.elsewhere if name == "eve" else self.club
            assert hears(self.sockets[name], community_room(community.id))
        return self.sockets

    def drained(self, *names) -> bool:
        return all(drained(self.sockets[n], self.users[n]) for n in names or self.sockets)


@pytest.fixture
def cast(app, factory, token_for):
    return Cast(app, factory, token_for)
