"""kraken.dependents: each cache's declared dependencies, the one write path, the one redo queue."""
import pytest
from bson import ObjectId
from redis.exceptions import ConnectionError as RedisConnectionError

from kraken import dependents, permcache
from kraken.channel_memberships.models import ChannelMembership
from kraken.channels.models import Channel
from kraken.extensions import redis
from kraken.roles.models import UserRole


def _generation(scope: str) -> str | None:
    return redis.get(permcache.generation_key(scope))


def test_a_save_is_heard_by_itself_and_a_bulk_write_is_reported_with_its_fields(app):
    cid = ObjectId()
    before = permcache.generation(str(cid))
    Channel(name="one", community_id=cid).save(force_insert=True)  # post_save: no call needed
    after_save = _generation(str(cid))
    assert after_save not in (None, before)
    ChannelMembership.objects(community_id=cid).delete()
    dependents.wrote(ChannelMembership, community_id=cid)
    assert _generation(str(cid)) not in (None, after_save)
    instance = permcache.generation(permcache.INSTANCE_SCOPE)
    dependents.wrote(UserRole, community_id=None)  # an instance role's assignment
    assert _generation(permcache.INSTANCE_SCOPE) != instance


def test_a_bulk_write_that_does_not_name_what_a_cache_keys_on_is_refused(app):
    with pytest.raises(TypeError, match="community_id"):
        dependents.wrote(UserRole, role_id=ObjectId())


def test_a_batch_reaches_each_cache_once_at_its_end(app, monkeypatch):
    seen = []
    monkeypatch.setattr(permcache, "invalidate", lambda *scopes: seen.append(set(scopes)))
    a, b = ObjectId(), ObjectId()
    with dependents.batch():
        dependents.wrote(Channel, community_id=a)
        dependents.wrote(ChannelMembership, community_id=b)
        assert seen == []
    assert seen == [{str(a), str(b)}]


def test_what_could_not_reach_redis_is_redone_when_it_is_back(app, monkeypatch):
    cid = str(ObjectId())
    real, calls = permcache.invalidate, []

    def away(*scopes):
        calls.append(scopes)
        raise RedisConnectionError("Redis is away")

    monkeypatch.setattr(permcache, "invalidate", away)
    dependents.wrote(Channel, community_id=cid)
    assert dependents.pending() == 1 and calls == [(cid,)]
    monkeypatch.setattr(permcache, "invalidate", real)
    before = permcache.generation(cid)
    dependents.redo()  # what the Redis connection's return runs (dependents.init_app)
    assert dependents.pending() == 0
    assert _generation(cid) not in (None, before)


def test_copies_fetch_the_missing_keys_together_and_trust_them_until_a_write(app):
    """`Copies.resolve_many`: every key answered by its own fetch (fetched a few at a time), a key
    without an answer is not kept, a kept copy is not fetched again until its scope is invalidated."""
    import threading

    import time

    copies = permcache.Copies(100)
    keys = [str(ObjectId()) for _ in range(20)]
    calls, running, most = [], [0], [0]
    counting = threading.Lock()

    def fetch(key):
        with counting:
            calls.append(key)
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)  # a database read's wait
        with counting:
            running[0] -= 1
        return None if key == keys[7] else {"key": key}

    first = copies.resolve_many(keys, fetch)
    assert first == {k: (None if k == keys[7] else {"key": k}) for k in keys}
    assert sorted(calls) == sorted(keys) and most[0] > 1  # several fetches were under way at once
    calls.clear()
    assert copies.resolve_many(keys, fetch) == first
    assert calls == [keys[7]]  # only the key without an answer is asked again
    permcache.invalidate(keys[3])
    calls.clear()
    assert copies.resolve_many(keys, fetch)[keys[3]] == {"key": keys[3]}
    assert sorted(calls) == sorted([keys[3], keys[7]])
