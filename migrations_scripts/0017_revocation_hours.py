"""Revoked sessions record the hour they were revoked in (`revokedHour`, indexed), so the markers of
the recently revoked ones are rebuilt by equality, one hour at a time, instead of a scan of every
session (kraken.auth.service.remirror_revocations; docs/decisions/0070-redis-sentinel.md). Sessions
revoked within the last 25 hours (an access token lives at most 24) get the field here; older ones
never need it. Idempotent: only sessions without the field are written."""
import calendar
from datetime import timedelta


def up(db, echo):
    from kraken.auth.models import RefreshFamily
    from kraken.common.time import utcnow

    RefreshFamily.ensure_indexes()
    families = db["refresh_families"]
    written = 0
    recent = {"revokedAt": {"$gte": utcnow() - timedelta(hours=25)}, "revokedHour": {"$exists": False}}
    for family in families.find(recent, {"revokedAt": 1}):
        families.update_one({"_id": family["_id"]},
                            {"$set": {"revokedHour": calendar.timegm(family["revokedAt"].utctimetuple()) // 3600}})
        written += 1
    echo(f"  revokedHour set on {written} recently revoked session(s)")
