"""`/api/community/admin/*` (kraken-head-features §12.2): READ_ALL_COMMUNITIES / DELETE_COMMUNITY on the
instance; the forced delete announces `communityDeleted` (the reference did not)."""
from __future__ import annotations

import pytest

from kraken.communities.models import Community
from kraken.messages.models import Message
from kraken.roles import service as roles


@pytest.fixture
def root(factory):
    return factory.owner("root")


@pytest.fixture
def as_root(factory, root):
    return factory.api(root)


def test_list_newest_first_with_counts_search_and_pages(as_root, factory, root):
    alice = factory.user("alice")
    made = [factory.community(root, f"Reef {i}") for i in range(5)]
    factory.member(alice, made[0])
    other = factory.community(alice, "Kelp")
    page = as_root.get("/api/community/admin/list?limit=2").get_json()
    assert [c["id"] for c in page["communities"]] == [str(other.id), str(made[4].id)]
    assert set(page["communities"][0]) == {"id", "name", "description", "avatar", "banner", "createdAt",
                                            "memberCount", "channelCount"}
    seen, token = [], None
    while True:
        url = "/api/community/admin/list?limit=2&search=reef" + (f"&continuationToken={token}" if token else "")
        body = as_root.get(url).get_json()
        seen += [c["id"] for c in body["communities"]]
        token = body.get("continuationToken")
        if not token:
            break
    assert seen == [str(c.id) for c in reversed(made)]
    first = next(c for c in as_root.get("/api/community/admin/list?search=REEF%200").get_json()["communities"])
    assert (first["memberCount"], first["channelCount"]) == (2, 2)


def test_one_community_with_its_message_count(as_root, factory, root):
    club = factory.community(root, "Deep")
    channel = factory.default_channel(club)
    kept = factory.send(root, channel, "one")
    gone = factory.send(root, channel, "two")
    factory.send(root, channel, "three")
    assert as_root.delete(f"/api/messages/{gone.id}").status_code == 204
    body = as_root.get(f"/api/community/admin/{club.id}").get_json()
    assert body["messageCount"] == 2 and body["memberCount"] == 1 and body["channelCount"] == 2
    assert as_root.get("/api/community/admin/0123456789abcdef01234567").status_code == 404
    assert kept


def test_force_delete_removes_everything_and_announces_it(app, as_root, factory, root, live, sockets):
    alice = factory.user("alice")
    club = factory.community(root, "Doomed")
    factory.member(alice, club)
    channel = factory.default_channel(club)
    factory.send(alice, channel, "bye")
    socket = sockets(live.url, factory.token(alice))
    socket.call("joinAll", str(club.id))  # the ack comes after the joins
    assert as_root.delete(f"/api/community/admin/{club.id}").status_code == 204
    assert socket.wait_for("communityDeleted", lambda p: p.get("communityId") == str(club.id)) is not None
    assert Community.objects(id=club.id).count() == 0 and Message.objects(channel_id=channel.id).count() == 0
    assert as_root.delete(f"/api/community/admin/{club.id}").status_code == 404
    stats = as_root.get("/api/instance/stats").get_json()
    assert stats["totalCommunities"] == 0 and stats["totalChannels"] == 0 and stats["totalMessages"] == 0


def test_a_custom_instance_role_with_the_actions_can_use_them(factory, root):
    alice = factory.user("alice")
    role = roles.create_instance_role(root, "Community Keeper", ["READ_ALL_COMMUNITIES", "DELETE_COMMUNITY"])
    roles.give(alice.id, role)
    club = factory.community(root, "Kept")
    api = factory.api(alice)
    assert api.get("/api/community/admin/list").status_code == 200
    assert api.delete(f"/api/community/admin/{club.id}").status_code == 204
