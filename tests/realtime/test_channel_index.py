"""Each community's channel index (kraken.channels.models.CommunityChannels, what `subscribeAll` reads)
stays equal to its channels through every channel write: create, privacy change, delete, community
delete, also when writes to one community or one channel run at once (threads on the shared store,
and the interleavings that would leave a stale entry, forced one at a time)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kraken.channels import models
from kraken.channels import service as channels
from kraken import permcache
from kraken.channels.models import Channel, CommunityChannels, community_channel_entries
from kraken.communities import service as communities
from kraken.extensions import redis
from kraken.realtime.subscriptions import all_community_rooms, community_rooms


@pytest.fixture
def place(factory):
    owner = factory.owner("root")
    alice = factory.user("alice")
    community = communities.create(alice, name="Indexed", description=None, avatar=None, banner=None)
    return owner, alice, community


def truth(community_id):
    """(ids, private ids) from the channel documents themselves."""
    rows = list(Channel.objects(community_id=community_id).scalar("id", "is_private"))
    return {str(c) for c, _ in rows}, {str(c) for c, private in rows if private}


def indexed(community_id):
    found = CommunityChannels.objects(id=community_id).as_pymongo().first()
    assert found is not None, "the community has its index"
    ids = [str(c) for c in found.get("channels", [])]
    assert len(ids) == len(set(ids)), "each channel once"
    return set(ids), {str(c) for c in found.get("private", [])}


def new(actor, community, name, private=False):
    return channels.create(actor, community.id, name=name, type="TEXT", is_private=private, description=None)


def test_the_index_follows_every_channel_write(place):
    _, alice, community = place
    assert indexed(community.id) == truth(community.id) and len(truth(community.id)[0]) == 2, "general, General"
    secret = new(alice, community, "secret", private=True)
    public = new(alice, community, "public")
    assert indexed(community.id) == truth(community.id)
    assert indexed(community.id)[1] == {str(secret.id)}
    channels.update(public, {"isPrivate": True})
    channels.update(secret, {"isPrivate": False, "name": "open"})
    channels.update(public, {"name": "renamed"})  # not a privacy change: the index stays as it is
    assert indexed(community.id) == truth(community.id)
    assert indexed(community.id)[1] == {str(public.id)}
    channels.delete(public)
    assert indexed(community.id) == truth(community.id)
    assert str(public.id) not in indexed(community.id)[0]
    entries = community_channel_entries(community.id)
    assert ({c.id for c in entries}, {c.id for c in entries if c.is_private}) == truth(community.id)
    communities.delete(community)
    assert CommunityChannels.objects(id=community.id).first() is None, "the index goes with its community"


def test_a_community_without_an_index_is_read_from_its_channels_and_indexed_whole_at_its_next_write(place):
    _, alice, community = place
    secret = new(alice, community, "secret", private=True)
    CommunityChannels.objects(id=community.id).delete()  # as data older than migration 0004
    entries = community_channel_entries(community.id)
    assert ({c.id for c in entries}, {c.id for c in entries if c.is_private}) == truth(community.id)
    new(alice, community, "later")
    assert indexed(community.id) == truth(community.id) and str(secret.id) in indexed(community.id)[1]


def test_channels_created_at_once_are_all_indexed(app, place):
    _, alice, community = place

    def create(i):
        with app.app_context():
            return new(alice, community, f"c{i:02d}", private=i % 3 == 0).id

    with ThreadPoolExecutor(12) as pool:
        created = list(pool.map(create, range(36)))
    assert indexed(community.id) == truth(community.id)
    assert {str(c) for c in created} <= indexed(community.id)[0]
    assert len(indexed(community.id)[1]) == 12


def test_channels_deleted_while_others_are_created_and_made_private(app, place):
    _, alice, community = place
    doomed = [new(alice, community, f"old{i:02d}") for i in range(16)]

    def work(i):
        with app.app_context():
            if i % 3 == 0:
                channels.delete(doomed[i // 3])
            elif i % 3 == 1:
                channels.update(doomed[8 + i // 3], {"isPrivate": True})
            else:
                new(alice, community, f"new{i:02d}", private=i % 2 == 0)

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(work, range(24)))
    assert indexed(community.id) == truth(community.id)
    assert len(indexed(community.id)[1]) == 8 + 4


def test_the_index_is_written_before_the_community_generation_moves(monkeypatch, place):
    """Otherwise a process could read the old index after the new generation and keep it as current."""
    _, alice, community = place
    real, seen = permcache.invalidate, []

    def invalidate(*scopes):
        if str(community.id) in scopes:
            seen.append(indexed(community.id))
        real(*scopes)

    monkeypatch.setattr(permcache, "invalidate", invalidate)
    channel = new(alice, community, "watched")
    assert seen and all(str(channel.id) in ids for ids, _ in seen)
    seen.clear()
    channels.update(channel, {"isPrivate": True})
    assert seen and all(str(channel.id) in private for _, private in seen)
    seen.clear()
    channels.delete(Channel.objects(id=channel.id).first())
    assert seen and all(str(channel.id) not in ids for ids, _ in seen)


def _racing(monkeypatch, intervene):
    """Run `intervene(channel_id)` (another writer's whole write) just before the first index write
    of a creating or updating writer, i.e. after that writer's own write to the channel."""
    real = models._apply
    pending = [True]

    def apply(community_id, channel_id, state):
        if pending and state is not None:
            pending.clear()
            intervene(channel_id)
        real(community_id, channel_id, state)

    monkeypatch.setattr(models, "_apply", apply)


def test_a_channel_deleted_while_it_is_created_leaves_no_entry(monkeypatch, place):
    _, alice, community = place
    _racing(monkeypatch, lambda channel_id: channels.delete(Channel.objects(id=channel_id).first()))
    created = new(alice, community, "short-lived", private=True)
    assert Channel.objects(id=created.id).first() is None
    assert str(created.id) not in indexed(community.id)[0] | indexed(community.id)[1]
    assert indexed(community.id) == truth(community.id)


def test_a_channel_made_public_while_made_private_ends_as_its_document_says(monkeypatch, place):
    _, alice, community = place
    channel = new(alice, community, "flip")
    _racing(monkeypatch, lambda channel_id: channels.update(Channel.objects(id=channel_id).first(),
                                                            {"isPrivate": False}))
    channels.update(channel, {"isPrivate": True})  # its index write comes after the other update's
    assert Channel.objects(id=channel.id).first().is_private is False
    assert indexed(community.id) == truth(community.id) and str(channel.id) not in indexed(community.id)[1]


def test_two_creators_at_the_same_instant(app, place):
    """Two threads released together by a barrier, many times: neither channel is ever lost."""
    _, alice, community = place
    for round in range(8):
        barrier = threading.Barrier(2)

        def create(i, round=round, barrier=barrier):
            with app.app_context():
                barrier.wait()
                return new(alice, community, f"r{round}-{i}", private=bool(i))

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(create, range(2)))
    assert indexed(community.id) == truth(community.id) and len(indexed(community.id)[0]) == 2 + 16


def test_subscribe_all_from_the_index_gives_the_rooms_of_the_channels(factory, place):
    owner, alice, community = place
    secret = new(alice, community, "secret", private=True)
    new(alice, community, "public")
    bob = factory.user("bob")
    from kraken.memberships import service as memberships
    memberships.join(bob.id, community.id)
    for user in (alice, bob):
        expected = sorted(community_rooms(user, community.id))
        redis.flushdb()
        assert sorted(all_community_rooms(user)) == expected
    assert str(secret.id) in all_community_rooms(alice) and str(secret.id) not in all_community_rooms(bob)


def test_subscribe_all_reads_the_index_not_the_channel_documents(monkeypatch, place):
    owner, alice, community = place
    new(alice, community, "secret", private=True)
    expected = sorted(community_rooms(alice, community.id))

    class NoChannels:
        @property
        def objects(self):
            raise AssertionError("the channel documents were read")

    monkeypatch.setattr(models, "Channel", NoChannels())
    redis.flushdb()
    assert sorted(all_community_rooms(alice)) == expected
