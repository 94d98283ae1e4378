"""Voice fixtures: the realtime tests' live server, sockets and community, plus voice channels."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from kraken.memberships.models import Membership
from tests.factories import ApiClient
from tests.realtime.conftest import live, sockets, token_for  # noqa: F401 - shared fixtures


# The dev server's secret is LiveKit's public 6-byte "secret"; PyJWT warns on every signature.
DEV_SECRET_WARNING = "ignore:The HMAC key is 6 bytes long:jwt.warnings.InsecureKeyLengthWarning"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings(DEV_SECRET_WARNING))


@pytest.fixture
def voice_community(community, factory):
    """`community` (Club) plus a private VOICE channel `war-room` (`private_voice`) of admin and
    pcmember; Club's public VOICE channel `General` is `voice`, its `general` is `text`; member is a
    member without war-room, outsider an outsider."""
    community.private_voice = factory.channel(community, community.admin, "war-room", type="VOICE", private=True,
                                              members=[community.pcmember])
    community.text = community.general
    return community


@pytest.fixture
def api_as(app, voice_community):
    """api_as("pcmember") -> an ApiClient with that user's token; api_as(None) is anonymous."""
    return lambda name: ApiClient(app.test_client(), voice_community.tokens[name] if name else None)


@pytest.fixture
def in_rooms(live, sockets, voice_community):
    """in_rooms("admin", "pcmember", url=...) -> their sockets, each having joined Club's rooms with joinAll."""
    from kraken.realtime.publish import publish
    from kraken.realtime.rooms import community_room

    def _open(*names: str, url: str | None = None):
        clients = [sockets(url or live.url, voice_community.tokens[name]) for name in names]
        for client in clients:
            client.emit("joinAll", str(voice_community.id))
        # joinAll has no ack: probe the community room until every member's socket hears it
        members = set(Membership.objects(community_id=voice_community.id).scalar("user_id"))
        pending = [c for name, c in zip(names, clients) if getattr(voice_community, name).id in members]
        deadline = time.monotonic() + 10
        while pending and time.monotonic() < deadline:
            publish("roomProbe", {}, community_room(voice_community.id))
            time.sleep(0.1)
            pending = [c for c in pending if not c.received("roomProbe")]
        assert not pending, "joinAll did not complete"
        time.sleep(0.2)  # and outsiders' refused joinAll
        return clients
    return _open
