"""`subscribeAll`'s rooms come from two membership queries (rbac.enterable_channels) instead of a full
grant per community: for every principal they are exactly the rooms `joinAll` gives, community by
community, with a warm cache and right after a flush."""
from __future__ import annotations

import pytest

from kraken.communities import service as communities
from kraken.extensions import redis
from kraken.realtime.subscriptions import all_community_rooms, community_rooms
from kraken.users.models import User


@pytest.fixture
def club(community, factory):
    """Club, with the owner, the private channel's member and the admin in Elsewhere too."""
    for name in ("owner", "pcmember", "admin"):
        factory.member(getattr(community, name), community.elsewhere)
    return community


@pytest.mark.parametrize("name", ["owner", "admin", "mod", "member", "pcmember", "nopc", "removed", "outsider"])
def test_subscribe_all_joins_what_join_all_joins_in_every_community(club, name):
    user = User.objects(id=club.ids[name]).first()
    expected = sorted(room for community in communities.mine(user) for room in community_rooms(user, community.id))
    assert sorted(all_community_rooms(user)) == expected
    redis.flushdb()  # cold: nothing cached anywhere
    assert sorted(all_community_rooms(user)) == expected
    if name == "pcmember":
        assert f"{club.ids['P']}" in expected, "the private channel's member enters it"
    if name in ("member", "nopc", "mod"):
        assert club.ids["P"] not in expected, "nobody else does"
    if name == "removed":
        assert expected == []
