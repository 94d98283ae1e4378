"""The instance's settings (the runtime source of truth for registration, kraken-head-features §12.3)
and its statistics from counters (docs/decisions/0063-running-an-instance-from-the-client.md)."""
from __future__ import annotations

import logging
from datetime import datetime

from mongoengine import NotUniqueError

from kraken import dependents, extensions, permcache
from kraken.channels.models import Channel
from kraken.common.time import utcnow
from kraken.communities.models import Community
from kraken.extensions import redis
from kraken.instance.models import SETTINGS_ID, InstanceSettings
from kraken.invites.models import Invite
from kraken.messages.models import MessageCounter, MessageTombstone
from kraken.users.models import User

log = logging.getLogger("kraken.instance")

# KRAKEN_REGISTRATION's spelling -> the stored registrationMode (the environment gives the first value only)
FROM_ENVIRONMENT = {"invite": "INVITE_ONLY", "open": "OPEN", "closed": "CLOSED"}
SETTINGS_SCOPE = "instance-settings"

# This process's copy of the settings, trusted while the scope's generation (tracked in Redis, so a
# write on any process makes every copy stale at once) is the one read before the database read.
_copies = permcache.Copies(1, scope=lambda _key: SETTINGS_SCOPE)
dependents.depends(InstanceSettings, lambda _doc: [SETTINGS_SCOPE], lambda scopes: permcache.invalidate(*scopes))


def _create() -> InstanceSettings:
    env = extensions.settings()
    try:
        return InstanceSettings(id=SETTINGS_ID, registration_mode=FROM_ENVIRONMENT[env.registration],
                                max_file_size_bytes=env.max_upload_bytes).save(force_insert=True)
    except NotUniqueError:  # another process created it first
        return InstanceSettings.objects(id=SETTINGS_ID).first()


def get_settings() -> InstanceSettings:
    """The settings (created with the defaults and the environment's registration mode on first read).
    A shared copy: do not change it."""
    return _copies.resolve(SETTINGS_ID, lambda: InstanceSettings.objects(id=SETTINGS_ID).first() or _create())


def registration_mode() -> str:
    """OPEN, INVITE_ONLY or CLOSED: what registration enforces now."""
    return get_settings().registration_mode


def update_settings(changes: dict) -> InstanceSettings:
    """Apply a partial change (keys as in the PATCH body); None clears `description`."""
    get_settings()  # exists
    fields = {"name": "name", "description": "description", "registrationMode": "registration_mode",
              "defaultStorageQuotaBytes": "default_storage_quota_bytes", "maxFileSizeBytes": "max_file_size_bytes"}
    update: dict = {"set__updated_at": utcnow()}
    for key, value in changes.items():
        attr = fields[key]
        update[f"set__{attr}" if value is not None else f"unset__{attr}"] = value if value is not None else 1
    InstanceSettings.objects(id=SETTINGS_ID).update_one(**update)
    settings = InstanceSettings.objects(id=SETTINGS_ID).first()
    dependents.wrote(settings)
    return settings


def forget_settings() -> None:
    """Remove the settings document (compensation of a failed first-run setup)."""
    settings = InstanceSettings.objects(id=SETTINGS_ID).first()
    if settings is not None:
        settings.delete()
        dependents.wrote(settings)


# statistics -----------------------------------------------------------------------------------------

STATS_KEY = "kraken:stats:instance"
COUNTERS = ("totalUsers", "totalCommunities", "totalChannels", "totalMessages", "bannedUsers")
# An increment only lands on a complete set of counters: a missing hash is recounted from the database
# at the next read rather than started from an increment.
_ADD_IF_PRESENT = """
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
end
return nil
"""


def count(counter: str, delta: int) -> None:
    """Add `delta` to one counter (never fails the write that caused it)."""
    try:
        redis.eval(_ADD_IF_PRESENT, 1, STATS_KEY, counter, delta)
    except Exception:  # Redis away: the counters are dropped and recounted when it is back
        log.warning("could not count", extra={"counter": counter})
        forget_counts()


def forget_counts(*counters: str) -> None:
    """Make counters stale (all without arguments): the next read recounts them from the database."""
    try:
        if counters:
            redis.hdel(STATS_KEY, *counters)
        else:
            redis.delete(STATS_KEY)
    except Exception:
        log.warning("could not drop the statistics counters")


def _recount(counter: str) -> int:
    """One counter from the database, only when it is missing (first read, Redis lost, a channel deleted):
    users, communities and channels are counted (a scan of those collections), messages from the counters."""
    if counter == "totalUsers":
        return User.objects.count()
    if counter == "bannedUsers":
        return User.objects(disabled=True).count()
    if counter == "totalCommunities":
        return Community.objects.count()
    if counter == "totalChannels":
        return Channel.objects.count()
    # numbered minus deleted: every conversation's counter (channels, groups, threads) and the tombstones,
    # never the messages themselves (a count of 1M messages takes minutes on the default store)
    numbered = sum(d.get("seq", 0) for d in MessageCounter._get_collection().find({}, {"seq": 1}))
    return max(numbered - MessageTombstone.objects.count(), 0)


def _active_invites(now: datetime) -> int:
    """Instance invites that can still be used: not disabled, not expired, not used up (the reference
    ignored maxUses; decision 0063). An equality on `scope`: there are few."""
    return sum(1 for disabled, until, remaining in Invite.objects(scope="INSTANCE").scalar(
        "disabled", "valid_until", "remaining")
        if not disabled and (until is None or until > now) and (remaining is None or remaining > 0))


def stats() -> dict[str, int]:
    """totalUsers, totalCommunities, totalChannels, totalMessages, activeInvites, bannedUsers: one Redis
    read of the counters (each recounted once when missing) and the instance invites."""
    try:
        held = redis.hgetall(STATS_KEY)
    except Exception:
        held = {}
    values = {}
    missing = {}
    for counter in COUNTERS:
        raw = held.get(counter)
        if raw is None:
            missing[counter] = values[counter] = _recount(counter)
        else:
            values[counter] = int(raw)
    if missing:
        try:
            redis.hset(STATS_KEY, mapping=missing)
        except Exception:
            log.warning("could not store the statistics counters")
    values["activeInvites"] = _active_invites(utcnow())
    return {key: values[key] for key in ("totalUsers", "totalCommunities", "totalChannels", "totalMessages",
                                         "activeInvites", "bannedUsers")}
