"""A revoked session stays refused when Redis loses its markers (a restart without persistence, a
flush, an eviction): the database answers until the markers are rebuilt and declared complete
(docs/decisions/0070-redis-sentinel.md, "Revocations after Redis loses its data")."""
import threading
import time
from datetime import timedelta

import pytest

from kraken.auth import service
from kraken.auth.models import RefreshFamily
from kraken.common.time import utcnow
from kraken.extensions import redis
from tests.factories import Factory

COMPLETE = "kraken:auth:revoked-markers-complete"


@pytest.fixture
def alice(factory):
    factory.owner("root")
    return factory.user("alice")


def sign_out_elsewhere(here):
    changed = here.put("/api/users/profile/password",
                       json={"currentPassword": Factory.PASSWORD, "newPassword": "another long one"})
    assert changed.status_code == 200, changed.get_json()


def test_a_revoked_session_stays_refused_after_redis_loses_its_data(app, alice, login_as, monkeypatch):
    here, elsewhere = login_as(alice), login_as(alice)
    sign_out_elsewhere(here)
    (revoked,) = RefreshFamily.objects(revoked_at__ne=None).scalar("id")
    assert elsewhere.get("/api/users/profile").status_code == 401
    assert redis.exists(COMPLETE) and redis.exists(f"kraken:auth:revoked-sid:{revoked}")

    monkeypatch.setattr(service, "HEAL_EVERY_S", 3600.0)  # no rebuild yet: the database answers alone
    monkeypatch.setattr(service, "_healed_at", time.monotonic())
    redis.flushdb()  # breaks no connection: no process's reconnect would rewrite the markers
    assert [elsewhere.get("/api/users/profile").status_code for _ in range(3)] == [401] * 3
    assert here.get("/api/users/profile").status_code == 200
    assert not redis.exists(f"kraken:auth:revoked-sid:{revoked}")

    monkeypatch.setattr(service, "HEAL_EVERY_S", 0.0)  # the next request rebuilds them
    assert elsewhere.get("/api/users/profile").status_code == 401
    assert redis.exists(COMPLETE) and redis.exists(f"kraken:auth:revoked-sid:{revoked}")
    assert 0 < redis.ttl(f"kraken:auth:revoked-sid:{revoked}") <= app.extensions["kraken.settings"].access_token_ttl + 1
    assert [elsewhere.get("/api/users/profile").status_code for _ in range(3)] == [401] * 3
    assert here.get("/api/users/profile").status_code == 200


def test_the_rebuild_reads_the_sessions_revoked_within_an_access_tokens_lifetime(app, alice, login_as):
    ttl = app.extensions["kraken.settings"].access_token_ttl
    sessions = [login_as(alice) for _ in range(3)]
    sign_out_elsewhere(sessions[0])
    old, recent = RefreshFamily.objects(revoked_at__ne=None).scalar("id")
    # one revoked longer ago than any access token lives, in an hour of its own
    long_ago = utcnow() - timedelta(seconds=ttl + 3600)
    RefreshFamily.objects(id=old).update_one(set__revoked_at=long_ago,
                                             set__revoked_hour=int(long_ago.timestamp()) // 3600)
    redis.flushdb()
    assert service.remirror_revocations(ttl) == 1
    assert redis.exists(f"kraken:auth:revoked-sid:{recent}") and not redis.exists(f"kraken:auth:revoked-sid:{old}")
    assert redis.exists(COMPLETE)


def test_markers_are_never_declared_complete_when_redis_lost_one_during_a_rebuild(app, alice):
    """Race: sessions are revoked (each writes its marker), Redis loses its data again and again, and
    the markers are rebuilt again and again. Whenever Redis says "complete" (read atomically with the
    markers), every session whose revocation had returned before the read has its marker."""
    for _ in range(60):
        service.start_session(alice, user_agent="test")
    ids = list(RefreshFamily.objects(user_id=alice.id).scalar("id"))
    assert len(set(ids)) == 60
    ttl = app.extensions["kraken.settings"].access_token_ttl
    revoked: list[str] = []
    violations: list[tuple] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def guarded(fn):
        def run():
            try:
                with app.app_context():
                    fn()
            except BaseException as exc:  # reported below
                errors.append(exc)
        return run

    def revoke():
        for family_id in ids:
            service.revoke_family(family_id, "test")
            revoked.append(str(family_id))
            time.sleep(0.01)
        done.set()

    def lose_data():
        while not done.is_set():
            time.sleep(0.007)
            redis.flushdb()

    def rebuild():
        while not done.is_set():
            service.remirror_revocations(ttl)

    def check():
        while not done.is_set():
            seen = list(revoked)
            pipe = redis.pipeline(transaction=True)  # MULTI/EXEC: one instant of Redis
            pipe.exists(COMPLETE)
            for family_id in seen:
                pipe.exists(f"kraken:auth:revoked-sid:{family_id}")
            complete, *present = pipe.execute()
            if complete and not all(present):
                violations.append((len(seen), present.count(0)))

    threads = [threading.Thread(target=guarded(fn)) for fn in (revoke, lose_data, rebuild, rebuild, check)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert not violations, violations[:5]
    assert len(revoked) == 60


def test_migration_0017_fills_the_revocation_hour_of_recent_sessions_only(app, alice):
    import mongoengine

    from kraken.migrations import load
    for _ in range(3):
        service.start_session(alice)
    recent, old, live = RefreshFamily.objects(user_id=alice.id).scalar("id")
    now, long_ago = utcnow(), utcnow() - timedelta(hours=30)
    families = RefreshFamily._get_collection()
    families.update_one({"_id": recent}, {"$set": {"revokedAt": now}})  # as revoked before 0017
    families.update_one({"_id": old}, {"$set": {"revokedAt": long_ago}})
    script = load("0017_revocation_hours")
    for _ in range(2):  # a rerun changes nothing
        script.up(mongoengine.get_db(), lambda line: None)
        hours = {f["_id"]: f.get("revokedHour") for f in families.find({}, {"revokedHour": 1})}
        assert hours == {recent: int(now.timestamp()) // 3600, old: None, live: None}
    assert service.remirror_revocations(app.extensions["kraken.settings"].access_token_ttl) == 1
    assert redis.exists(f"kraken:auth:revoked-sid:{recent}")
