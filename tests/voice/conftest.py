"""Voice fixtures: the realtime tests' live server, sockets and world, plus voice channels."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from kraken.channel_memberships import service as channel_memberships
from kraken.channels import service as channels
from kraken.channels.models import Channel
from kraken.memberships.models import Membership
from tests.factories import ApiClient
from tests.realtime.conftest import live, sockets, token_for  # noqa: F401 - shared fixtures
from tests.realtime.test_messaging_sockets import world  # noqa: F401 - the shared world fixture


# The dev server's secret is LiveKit's public 6-byte "secret"; PyJWT warns on every signature.
DEV_SECRET_WARNING = "ignore:The HMAC key is 6 bytes long:jwt.warnings.InsecureKeyLengthWarning"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings(DEV_SECRET_WARNING))


@pytest.fixture
def voice_world(world):
    """`world` plus Club's public VOICE channel `General` and a private VOICE channel `war-room`
    of alice (admin) and bob (member); carol is a member without it, dave an outsider."""
    world.voice = Channel.objects(community_id=world.club.id, type="VOICE", name="General").get()
    world.private_voice = channels.create(world.alice, world.club.id, name="war-room", type="VOICE",
                                          is_private=True, description=None)
    channel_memberships.give(world.private_voice, world.bob.id)
    world.text = world.general
    return world


@pytest.fixture
def api_as(app, voice_world):
    """api_as("bob") -> an ApiClient with that user's token; api_as(None) is anonymous."""
    return lambda name: ApiClient(app.test_client(), voice_world.tokens[name] if name else None)


@pytest.fixture
def in_rooms(live, sockets, voice_world):
    """in_rooms("alice", "bob", url=...) -> their sockets, each having joined Club's rooms with joinAll."""
    from kraken.realtime.publish import publish
    from kraken.realtime.rooms import community_room

    def _open(*names: str, url: str | None = None):
        clients = [sockets(url or live.url, voice_world.tokens[name]) for name in names]
        for client in clients:
            client.emit("joinAll", str(voice_world.club.id))
        # joinAll has no ack: probe the community room until every member's socket hears it
        members = set(Membership.objects(community_id=voice_world.club.id).scalar("user_id"))
        pending = [c for name, c in zip(names, clients) if getattr(voice_world, name).id in members]
        deadline = time.monotonic() + 10
        while pending and time.monotonic() < deadline:
            publish("roomProbe", {}, community_room(voice_world.club.id))
            time.sleep(0.1)
            pending = [c for c in pending if not c.received("roomProbe")]
        assert not pending, "joinAll did not complete"
        time.sleep(0.2)  # and outsiders' refused joinAll
        return clients
    return _open
