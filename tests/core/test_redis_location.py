"""kraken.adapters.redis.RedisLocation against a real Sentinel topology (Debian's redis-sentinel): the
pool, the plain URL and the `limits` storage all reach the current master, before and after a failover."""
import pytest
import redis as redis_lib
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from kraken.adapters.redis import RedisLocation, _SentinelBlockingPool
from kraken.config import load_settings
from kraken.extensions import redis_location
from tests.live import SentinelTopology


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory):
    topology = SentinelTopology(tmp_path_factory.mktemp("sentinel")).start()
    yield topology
    topology.stop()


def test_settings_name_the_master_by_its_sentinels(tmp_path):
    settings = load_settings({"REDIS_SENTINELS": "10.0.0.1:26379, 10.0.0.2:26379", "REDIS_SENTINEL_MASTER": "chat",
                              "REDIS_PASSWORD": "p@ss", "REDIS_DB": "3", "REDIS_SENTINEL_PASSWORD": "s",
                              "KRAKEN_DATA_DIR": str(tmp_path)})
    assert settings.redis_sentinels == ("10.0.0.1:26379", "10.0.0.2:26379")
    assert settings.redis_url == "redis://:p%40ss@chat/3"
    location = redis_location(settings)
    assert location.uses_sentinel and location.master == "chat" and location.sentinel_password == "s"
    uri, options = location.limits_storage()
    assert uri == "redis+sentinel://:p%40ss@10.0.0.1:26379,10.0.0.2:26379/chat" and options["db"] == 3
    # a plain REDIS_URL is unchanged
    plain = load_settings({"REDIS_URL": "redis://127.0.0.1:6380/2", "KRAKEN_DATA_DIR": str(tmp_path)})
    assert plain.redis_sentinels == () and redis_location(plain).master_url() == "redis://127.0.0.1:6380/2"


def test_the_pool_url_and_limits_follow_the_master_through_a_failover(sentinels):
    location = RedisLocation("redis://kraken/0", (sentinels.sentinels.split(",")), SentinelTopology.MASTER)
    pool = location.pool(max_connections=4, timeout=2, decode_responses=True, socket_timeout=1,
                         socket_connect_timeout=0.5)
    assert isinstance(pool, _SentinelBlockingPool)
    client = redis_lib.Redis(connection_pool=pool)
    limiter = FixedWindowRateLimiter(storage_from_string(location.limits_storage()[0], **location.limits_storage()[1]))
    rule = parse("3/minute")
    for round_ in range(2):
        master = sentinels.master_port()
        assert location.master_url() == f"redis://127.0.0.1:{master}/0"
        client.set(f"k{round_}", "v")
        assert redis_lib.Redis(port=master).get(f"k{round_}") == b"v"  # written to the master itself
        assert [limiter.hit(rule, "t", str(round_)) for _ in range(4)] == [True, True, True, False]
        if round_ == 0:
            sentinels.kill_master()
            promoted = sentinels.wait_promoted(master)
            sentinels.revive(master)
            for _ in range(50):  # the pool's connections to the dead master fail once, then reconnect
                try:
                    client.ping()
                    break
                except redis_lib.ConnectionError:
                    continue
            assert sentinels.master_port() == promoted


def test_the_blocking_pool_waits_for_a_free_connection_instead_of_raising(sentinels):
    location = RedisLocation("redis://kraken/0", tuple(sentinels.sentinels.split(",")), SentinelTopology.MASTER)
    pool = location.pool(max_connections=1, timeout=0.3)
    first = pool.get_connection()
    with pytest.raises(redis_lib.ConnectionError, match="No connection available"):
        pool.get_connection()  # waited 0.3 s for the one connection (a plain pool raises at once)
    pool.release(first)
    assert pool.get_connection() is first
