"""Channel ordering and mentionable channels (kraken-head-features §8, docs/decisions/0056): positions
of new channels, move-up/move-down with their renumbering, the community check the reference lacked,
channelsReordered, concurrent moves without transactions, and the mentionable list."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
import requests
from bson import ObjectId

from kraken.channels import models
from kraken.channels import service as channels
from kraken.channels.models import Channel
from kraken.common.time import utcnow
from tests.factories import race


def order(api, community) -> list[tuple[str, str, int]]:
    response = api.get(f"/api/channels/community/{community.id}")
    assert response.status_code == 200, response.get_json()
    return [(c["name"], c["type"], c["position"]) for c in response.get_json()]


def move(api, channel, community, way="up"):
    return api.post(f"/api/channels/{channel.id}/move-{way}", json={"communityId": str(community.id)})


def test_new_channels_go_last_of_their_type(community, factory, login_as):
    factory.channel(community, community.admin, "voice-2", type="VOICE")
    assert order(login_as(community.admin), community) == [
        ("general", "TEXT", 0), ("secret", "TEXT", 1), ("victim", "TEXT", 2),
        ("General", "VOICE", 0), ("voice-2", "VOICE", 1)]
    # a member sees the same order without the private channel
    assert [name for name, _, _ in order(login_as(community.member), community)] == [
        "general", "victim", "General", "voice-2"]


def test_moves_swap_with_the_neighbour_of_the_same_type_and_are_announced(live, sockets, community, login_as):
    member = sockets(live.url, community.tokens["member"])
    member.call("joinAll", str(community.id))
    mod = login_as(community.mod)
    # this process's copies of the channel and the list are filled before the move...
    assert mod.get(f"/api/channels/{community.victim.id}").get_json()["position"] == 2
    assert [name for name, _, _ in order(mod, community)][:3] == ["general", "secret", "victim"]
    response = move(mod, community.victim, community, "up")
    assert response.status_code == 200, response.get_json()
    assert [(c["name"], c["position"]) for c in response.get_json()] == [
        ("general", 0), ("victim", 1), ("secret", 2), ("General", 0)]
    event = member.wait_for("channelsReordered")
    assert event["communityId"] == str(community.id)
    # the community's room hears the public channels only (a private channel's name is not for everyone)
    assert [(c["name"], c["position"]) for c in event["channels"]] == [("general", 0), ("victim", 1), ("General", 0)]
    assert order(login_as(community.member), community) == [("general", "TEXT", 0), ("victim", "TEXT", 1),
                                                           ("General", "VOICE", 0)]
    # ...and are not served after it (the community's generation moved)
    assert mod.get(f"/api/channels/{community.victim.id}").get_json()["position"] == 1
    assert mod.get(f"/api/channels/{community.private.id}").get_json()["position"] == 2
    response = move(mod, community.general, community, "down")
    assert [c["name"] for c in response.get_json()] == ["victim", "general", "secret", "General"]
    assert member.wait_for("channelsReordered", lambda e: e["channels"][0]["name"] == "victim")


def test_a_move_at_the_end_changes_nothing_and_announces_nothing(live, sockets, community, login_as):
    member = sockets(live.url, community.tokens["member"])
    member.call("joinAll", str(community.id))
    admin = login_as(community.admin)
    before = order(admin, community)
    for channel, way in ((community.general, "up"), (community.victim, "down"), (community.voice, "up"),
                         (community.voice, "down")):
        response = move(admin, channel, community, way)
        assert response.status_code == 200
        assert [(c["name"], c["type"], c["position"]) for c in response.get_json()] == before
    # then a real move: the first event member hears is that one
    assert move(admin, community.victim, community, "up").status_code == 200
    first = member.wait_for("channelsReordered")
    assert [c["name"] for c in first["channels"]][:2] == ["general", "victim"]
    assert len(member.received("channelsReordered")) == 1


@pytest.mark.parametrize("who, body, status, code", [
    ("admin", {"communityId": "D"}, 403, "NOT_A_MEMBER"),  # the body's community is checked first
    ("outsider", {"communityId": "D"}, 404, "NOT_FOUND"),  # Elsewhere's admin: the channel is not in it
    ("admin", {}, 400, None),
    ("admin", {"communityId": "nope"}, 400, None),
    ("admin", {"communityId": "missing"}, 404, "NOT_FOUND"),
    ("member", {"communityId": "C"}, 403, None),
    ("nopc", {"communityId": "C"}, 403, None),
])
def test_move_refusals_change_nothing(community, login_as, who, body, status, code):
    ids = {"C": str(community.id), "D": str(community.elsewhere.id), "missing": str(ObjectId()), "nope": "nope"}
    body = {k: ids[v] for k, v in body.items()}
    before = sorted((str(c.id), c.position) for c in Channel.objects)
    response = login_as(community.people[who]).post(f"/api/channels/{community.victim.id}/move-up", json=body)
    assert response.status_code == status, response.get_json()
    if code:
        assert response.get_json()["code"] == code
    assert sorted((str(c.id), c.position) for c in Channel.objects) == before


def test_a_channel_of_another_community_is_not_found(community, login_as):
    response = move(login_as(community.owner), community.elsewhere_general, community, "down")
    assert response.status_code == 404 and response.get_json()["message"] == "Channel not found"


def test_a_move_renumbers_duplicates_gaps_and_raw_positions(community, factory, login_as):
    admin = login_as(community.admin)
    extra = factory.channel(community, community.admin, "extra")
    for channel, position in ((community.general, 7), (community.victim, 7), (extra, 30)):
        assert admin.patch(f"/api/channels/{channel.id}", json={"position": position}).status_code == 200
    assert admin.patch(f"/api/channels/{extra.id}", json={"position": -1}).status_code == 400
    # written raw: secret 1, general 7, victim 7 (older first), extra 30
    assert [n for n, t, _ in order(admin, community) if t == "TEXT"] == ["secret", "general", "victim", "extra"]
    response = move(admin, extra, community, "up")
    assert [(c["name"], c["position"]) for c in response.get_json() if c["type"] == "TEXT"] == [
        ("secret", 0), ("general", 1), ("extra", 2), ("victim", 3)]
    assert order(admin, community)[:4] == [("secret", "TEXT", 0), ("general", "TEXT", 1), ("extra", "TEXT", 2),
                                           ("victim", "TEXT", 3)]


def test_two_moderators_moving_at_once_keep_a_gap_free_order(app, community, factory, login_as):
    for i in range(5):
        factory.channel(community, community.admin, f"c{i}")
    for i in range(2):
        factory.channel(community, community.admin, f"v{i}", type="VOICE")
    ids = [str(c.id) for c in Channel.objects(community_id=community.id)]
    returned, swaps = [], []

    def mover(who, seed):
        api, rnd = login_as(community.people[who]), random.Random(seed)

        def job():
            for _ in range(25):
                way = rnd.choice(("up", "down"))
                response = api.post(f"/api/channels/{rnd.choice(ids)}/move-{way}",
                                    json={"communityId": str(community.id)})
                assert response.status_code == 200, response.get_json()
                returned.append([(c["type"], c["position"], c["id"]) for c in response.get_json()])
        return job

    def service_mover(seed):  # the service as well: what a second process's route calls
        rnd = random.Random(seed)

        def job():
            for _ in range(15):
                after, swapped = channels.move(community.id, rnd.choice(ids), rnd.choice((-1, 1)))
                swaps.append(swapped)
                returned.append([(c.type, c.position, str(c.id)) for c in after])
        return job

    race(app, [mover("admin", 1), mover("mod", 2), service_mover(3)])
    assert len(returned) == 65 and any(swaps)

    def gap_free(listing):
        for kind in ("TEXT", "VOICE"):
            positions = [p for t, p, _ in listing if t == kind]
            assert positions == list(range(len(positions))), listing
        assert sorted(i for _, _, i in listing) == sorted(ids)

    for listing in returned:
        gap_free(listing)
    gap_free([(c.type, c.position, str(c.id)) for c in sorted(Channel.objects(community_id=community.id),
                                                              key=lambda c: (c.type, c.position))])


def test_creations_racing_get_distinct_positions(app, community, factory):
    race(app, [lambda i=i: factory.channel(community, community.admin, f"n{i}") for i in range(4)])
    positions = sorted(c.position for c in Channel.objects(community_id=community.id, type="TEXT"))
    assert positions == list(range(len(positions)))


def test_mentionable_channels_are_those_the_caller_may_enter_by_name(community, factory, login_as):
    factory.channel(community, community.admin, "Alpha")
    factory.channel(community, community.admin, "zeta", type="VOICE")
    names = {}
    for who in ("pcmember", "nopc", "mod", "admin", "owner"):
        response = login_as(community.people[who]).get(f"/api/channels/community/{community.id}/mentionable")
        assert response.status_code == 200, response.get_json()
        names[who] = [c["name"] for c in response.get_json()]
    assert names["pcmember"] == names["admin"] == names["owner"] == [
        "Alpha", "General", "general", "secret", "victim", "zeta"]
    assert names["nopc"] == names["mod"] == ["Alpha", "General", "general", "victim", "zeta"]
    assert login_as(community.outsider).get(
        f"/api/channels/community/{community.id}/mentionable").status_code == 403


def test_a_dead_holders_lease_is_taken_over_and_a_live_one_is_waited_for(community, login_as, monkeypatch):
    leases = models.ChannelOrderLease._get_collection()
    leases.insert_one({"_id": community.id, "token": "dead", "until": utcnow() - timedelta(seconds=1)})
    admin = login_as(community.admin)
    assert move(admin, community.victim, community, "up").status_code == 200
    assert leases.count_documents({}) == 0  # taken over, then given back
    leases.insert_one({"_id": community.id, "token": "busy", "until": utcnow() + timedelta(seconds=60)})
    monkeypatch.setattr(models, "LEASE_WAIT", 0.2)
    before = sorted((str(c.id), c.position) for c in Channel.objects)
    response = move(admin, community.victim, community, "down")
    assert response.status_code == 503 and response.get_json()["code"] == "SERVICE_UNAVAILABLE"
    assert sorted((str(c.id), c.position) for c in Channel.objects) == before
    assert leases.find_one({"_id": community.id})["token"] == "busy"  # someone else's: not released


def test_another_process_serves_the_new_order_at_once(live, community, login_as):
    headers = {"Authorization": f"Bearer {community.tokens['member']}"}
    url = f"{live.url}/api/channels/community/{community.id}"

    def seen():
        return [(c["name"], c["position"]) for c in requests.get(url, headers=headers, timeout=10).json()][:2]

    assert seen() == [("general", 0), ("victim", 2)]  # its copies filled
    assert move(login_as(community.admin), community.victim, community, "up").status_code == 200  # past secret
    assert seen() == [("general", 0), ("victim", 1)]
    assert move(login_as(community.admin), community.victim, community, "up").status_code == 200
    assert seen() == [("victim", 0), ("general", 1)]
