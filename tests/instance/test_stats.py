"""`GET /api/instance/stats` (kraken-head-features §12.3; decision 0063): counters that follow every
write, recounted once when Redis lost them."""
from __future__ import annotations

from datetime import timedelta

from kraken.common.time import utcnow
from kraken.extensions import redis
from kraken.instance.service import STATS_KEY


def test_stats_follow_writes_and_survive_losing_redis(factory):
    root = factory.owner("root")
    api = factory.api(root)
    assert api.get("/api/instance/stats").get_json() == {
        "totalUsers": 1, "totalCommunities": 0, "totalChannels": 0, "totalMessages": 0, "activeInvites": 0,
        "bannedUsers": 0}
    alice = factory.user("alice")  # its one-use invite is used up: not active
    club = factory.community(root, "Deep")
    channel = factory.default_channel(club)
    extra = factory.channel(club, root, "extra")
    one = factory.send(root, channel, "one")
    factory.send(root, channel, "two")
    factory.send(root, channel, "three")
    factory.invite()
    factory.invite(valid_until=utcnow() - timedelta(days=1))
    disabled = factory.invite()
    api.delete(f"/api/invite/{disabled.code}")
    api.patch(f"/api/users/admin/{alice.id}/ban", json={"banned": True})
    api.delete(f"/api/messages/{one.id}")
    expected = {"totalUsers": 2, "totalCommunities": 1, "totalChannels": 3, "totalMessages": 2,
                "activeInvites": 1, "bannedUsers": 1}
    assert api.get("/api/instance/stats").get_json() == expected
    redis.delete(STATS_KEY)  # Redis lost them: recounted once
    assert api.get("/api/instance/stats").get_json() == expected
    api.delete(f"/api/channels/{extra.id}")
    api.delete(f"/api/channels/{channel.id}")
    after = api.get("/api/instance/stats").get_json()
    assert after["totalChannels"] == 1 and after["totalMessages"] == 0


def test_a_second_read_reads_no_collection(factory):
    """The counters are one Redis hash: after the first read, a read changes nothing in it."""
    root = factory.owner("root")
    api = factory.api(root)
    api.get("/api/instance/stats")
    held = redis.hgetall(STATS_KEY)
    assert set(held) == {"totalUsers", "totalCommunities", "totalChannels", "totalMessages", "bannedUsers"}
    api.get("/api/instance/stats")
    assert redis.hgetall(STATS_KEY) == held
