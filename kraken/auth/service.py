"""Authentication: login, refresh-token rotation with reuse detection, logout, revocation.

Access tokens are short JWTs naming their session (`sid` = refresh family id);
revoking a family (logout, reuse, password change, disable) refuses its access
tokens too. Revocations are mirrored into Redis for a cheap per-request check,
with the database as the fallback when Redis is away or its markers are not
known to be complete (docs/decisions/0070-redis-sentinel.md, "Revocations after
Redis loses its data").
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId
from flask_jwt_extended import create_access_token

from kraken import dependents, domain, extensions, permcache
from kraken.auth.models import RefreshFamily, RefreshToken
from kraken.auth.passwords import hash_password, hasher, verify_password
from kraken.auth.tokens import family_id_from_cookie, new_secret, token_hash, token_id_from_cookie
from kraken.common.time import utcnow
from kraken.errors import NotFoundError, UnauthorizedError, ValidationError
from kraken.extensions import redis
from kraken.realtime.publish import disconnect_sockets
from kraken.users.models import User

log = logging.getLogger("kraken.auth")
_REVOKED_JTI = "kraken:auth:revoked-jti:"
_REVOKED_SID = "kraken:auth:revoked-sid:"
# Set once the markers of every session revoked within an access token's lifetime are in Redis
# (remirror_revocations). A Redis that lost its data (a restart without persistence, a flush, an
# eviction) lacks it, and the per-request check then asks the database until the markers are back.
# Under the tracked prefix (kraken.extensions.TRACKED_PREFIXES): held per process like the markers.
_MARKERS_COMPLETE = "kraken:auth:revoked-markers-complete"
# Written before remirror_revocations reads the database and deleted by the script that declares the
# markers complete: a Redis that lost its data in between lost the guard too, and nothing is declared.
_REMIRROR_GUARD = "kraken:auth:remirror-guard:"
_DECLARE_COMPLETE = """
if redis.call('del', KEYS[1]) == 1 then
  redis.call('set', KEYS[2], '1')
  return 1
end
return 0
"""
HEAL_EVERY_S = 5.0  # a process finding the markers incomplete rebuilds them at most this often
_heal_lock = threading.Lock()
_healed_at = 0.0


@dataclass(frozen=True)
class Session:
    user: User
    access_token: str
    refresh_token: str


def _settings():
    return extensions.settings()


def access_token_for(user: User, family_id: ObjectId) -> str:
    return create_access_token(identity=str(user.id), additional_claims={
        "username": user.username, "role": user.role, "sid": str(family_id)})


def _issue_refresh(family: RefreshFamily) -> str:
    token_id = ObjectId()
    secret = new_secret(str(family.id), str(token_id))
    RefreshToken(id=token_id, token_hash=token_hash(secret, _settings().jwt_refresh_secret),
                 family_id=family.id, user_id=family.user_id).save(force_insert=True)
    return secret


def _presented(cookie: str | None) -> RefreshToken | None:
    """The token record a refresh cookie proves possession of, else None."""
    token_id = token_id_from_cookie(cookie)
    token = RefreshToken.objects(id=token_id).first() if token_id else None
    if token is None or str(token.family_id) != family_id_from_cookie(cookie):
        return None
    expected = token_hash(cookie, _settings().jwt_refresh_secret)
    return token if hmac.compare_digest(token.token_hash, expected) else None


def start_session(user: User, user_agent: str | None = None, ip_address: str | None = None) -> Session:
    """Open a new refresh family for `user` and issue its first tokens."""
    now = utcnow()
    family = RefreshFamily(user_id=user.id, created_at=now, user_agent=(user_agent or "")[:256],
                           ip_address=(ip_address or None) and ip_address[:64], last_used_at=now,
                           expires_at=now + timedelta(days=_settings().refresh_token_ttl_days))
    family.save(force_insert=True)
    return Session(user, access_token_for(user, family.id), _issue_refresh(family))


def login(username: str, password: str, user_agent: str | None = None, ip_address: str | None = None) -> Session:
    """Check credentials; raises UnauthorizedError with one body for every failure."""
    user = User.objects(username=username).first()
    ok = verify_password(user.hashed_password if user else None, password)
    if not ok or user is None or user.disabled:
        # one line per failure, no traceback: a password-guessing run shows as a count, not a flood
        # (an unknown name is logged by its hash: it may be a password typed in the wrong field)
        log.warning("login failed", extra={
            "reason": "unknown user" if user is None else "wrong password" if not ok else "disabled",
            "username": user.username if user else None, "user_id": str(user.id) if user else None,
            "username_sha256": hashlib.sha256(username.encode()).hexdigest()[:16]})
        raise UnauthorizedError("Unauthorized")
    if hasher().check_needs_rehash(user.hashed_password):
        User.objects(id=user.id).update_one(set__hashed_password=hash_password(password))
        dependents.wrote(user)
    return start_session(user, user_agent, ip_address)


def refresh(cookie: str | None, ip_address: str | None = None) -> Session:
    """Rotate a refresh token.

    A spent token presented within the grace window (parallel tabs) still
    rotates; after it, the whole family is revoked (reuse detection).
    Raises UnauthorizedError for anything invalid.
    """
    if not cookie:
        raise UnauthorizedError("No refresh token provided")
    token = _presented(cookie)
    if token is None:
        raise UnauthorizedError("Invalid refresh token")
    now = utcnow()
    family = RefreshFamily.objects(id=token.family_id).first()
    if family is None or family.revoked_at is not None or family.expires_at <= now:
        raise UnauthorizedError("Invalid refresh token")

    # Claim the token atomically: `$min` sets spentAt only where it is unset (a later attempt never
    # moves it), and the pre-image says whether this call was first. The filter is `_id` alone: with
    # any other field FerretDB 1.x scans the collection, and it grows with every rotation.
    before = token if token.spent_at is not None else RefreshToken.objects(id=token.id).modify(
        min__spent_at=now)
    if before is None:
        raise UnauthorizedError("Invalid refresh token")
    if before.spent_at is not None:
        spent_at = before.spent_at
        if now - spent_at > timedelta(seconds=_settings().refresh_grace_seconds):
            revoke_family(family.id, "reuse")
            log.warning("refresh token reuse; family revoked",
                        extra={"family_id": str(family.id), "user_id": str(family.user_id)})
            raise UnauthorizedError("Invalid refresh token")

    user = User.objects(id=token.user_id).first()
    if user is None or user.disabled:
        raise UnauthorizedError("Invalid refresh token")
    used = {"set__ip_address": ip_address[:64]} if ip_address else {}
    RefreshFamily.objects(id=family.id).update_one(
        set__expires_at=now + timedelta(days=_settings().refresh_token_ttl_days), set__last_used_at=now, **used)
    return Session(user, access_token_for(user, family.id), _issue_refresh(family))


def _mirror(key: str, ttl: int) -> None:
    """Write a revocation marker; one that cannot reach Redis is written again until it does
    (kraken.dependents): Redis may keep its data and its complete key, and only this process knows
    the marker is missing. The database record stays authoritative meanwhile."""
    dependents.reach(_write_markers, {(key, time.monotonic() + max(ttl, 1))})


def _write_markers(markers: set) -> None:
    """Set each (key, until) marker for what is left of its lifetime (until: time.monotonic())."""
    now = time.monotonic()
    pipe = redis.pipeline(transaction=False)
    for key, until in markers:
        if until > now:
            pipe.set(key, "1", ex=int(until - now) + 1)
    pipe.execute()


def _hour(moment: datetime) -> int:
    return int(moment.timestamp()) // 3600


def revoke_family(family_id: ObjectId | str, reason: str) -> bool:
    """Revoke one session: its refresh tokens, every access token naming it, and its live sockets (on
    every process). True when this call revoked it (False: it was revoked already)."""
    now = utcnow()
    revoked = RefreshFamily.objects(id=family_id, revoked_at=None).update_one(
        set__revoked_at=now, set__revoked_hour=_hour(now), set__revoked_reason=reason) == 1
    _mirror(_REVOKED_SID + str(family_id), _settings().access_token_ttl)
    user_id = RefreshFamily.objects(id=family_id).scalar("user_id").first()
    if user_id is not None:
        disconnect_sockets(str(user_id), session_id=str(family_id))
    return revoked


def remirror_revocations(access_ttl_s: int) -> int:
    """Write again the Redis markers of the sessions revoked within the last access-token lifetime,
    then declare them complete (`_MARKERS_COMPLETE`) unless Redis lost its data meanwhile.

    A revocation made while Redis was away (its mirror write failed), or lost with Redis's data,
    exists only in the database. Run whenever a process's Redis tracking connection turns live
    (kraken.tracking), and by a request that finds the markers incomplete (`is_revoked`). Reads one
    hour of revocations at a time, by equality (docs/decisions/0033). Returns how many were written."""
    guard = _REMIRROR_GUARD + secrets.token_hex(8)
    redis.set(guard, "1", ex=300)
    now = utcnow()
    since = now - timedelta(seconds=access_ttl_s)
    pipe = redis.pipeline(transaction=False)
    written = 0
    for hour in range(_hour(since), _hour(now) + 1):
        for family_id, revoked_at in RefreshFamily.objects(revoked_hour=hour).scalar("id", "revoked_at"):
            left = int((revoked_at + timedelta(seconds=access_ttl_s) - now).total_seconds()) + 1
            if left > 0:
                pipe.set(_REVOKED_SID + str(family_id), "1", ex=left)
                written += 1
    pipe.eval(_DECLARE_COMPLETE, 2, guard, _MARKERS_COMPLETE)
    pipe.execute()
    return written


def _heal() -> None:
    """The markers are not known to be complete and Redis answers: rebuild them now (one request of
    this process at a time, at most every HEAL_EVERY_S), rather than wait for a reconnect that a
    flushed or evicted Redis never causes."""
    global _healed_at
    if time.monotonic() - _healed_at < HEAL_EVERY_S or not _heal_lock.acquire(blocking=False):
        return
    try:
        _healed_at = time.monotonic()
        remirror_revocations(_settings().access_token_ttl)
    except Exception:
        log.warning("could not rebuild the revocation markers", exc_info=True)
    finally:
        _heal_lock.release()


def revoke_access_token(jti: str, expires_at: datetime) -> None:
    _mirror(_REVOKED_JTI + jti, int((expires_at - utcnow()).total_seconds()) + 1)


def revoke_user_sessions(user_id: ObjectId, reason: str, keep: str | None = None) -> list[str]:
    """Revoke every open session of a user except `keep`; returns the revoked family ids."""
    ids = [str(f) for f in RefreshFamily.objects(user_id=user_id, revoked_at=None).scalar("id")
           if str(f) != keep]
    for family_id in ids:
        revoke_family(family_id, reason)
    return ids


def logout(cookie: str | None, claims: dict | None) -> None:
    """End the session named by the refresh cookie and/or the access token; never fails."""
    if claims:
        revoke_access_token(claims["jti"], datetime.fromtimestamp(claims["exp"], tz=utcnow().tzinfo))
        if claims.get("sid"):
            revoke_family(claims["sid"], "logout")
    token = _presented(cookie)
    if token is not None:
        revoke_family(token.family_id, "logout")


def is_revoked(claims: dict, user_lookup_next: bool = False) -> bool:
    """True when the access token's jti or session was revoked, from this process's tracked copies of
    the Redis keys (kraken.tracking) or else in one round trip; from the database when Redis is away
    or its markers are not known to be complete (then they are rebuilt, `_heal`).

    `user_lookup_next`: that round trip also reads the user's cache generation into the tracked
    copies, so the user lookup that follows (kraken.users.lookups.active_user) needs none.
    """
    sid = claims.get("sid")
    keys = [_REVOKED_JTI + claims["jti"], *([_REVOKED_SID + sid] if sid else []), _MARKERS_COMPLETE]
    markers = len(keys) - 1
    scope = permcache.user_scope(claims["sub"])
    gen_key = permcache.generation_key(scope) if user_lookup_next else None
    tracked = redis.tracked
    held = tracked.get(keys + [gen_key] if gen_key else keys)
    if held is not None:
        found = dict(zip(keys, held))
    else:
        ticket = tracked.ticket()
        try:
            pipe = redis.pipeline(transaction=False)
            for key in keys:
                pipe.exists(key)
            if gen_key:
                permcache.queue_generation(pipe, scope)
            results = pipe.execute()
        except Exception:
            return _revoked_in_database(sid)
        found = {key: bool(results[i]) for i, key in enumerate(keys)}
        if gen_key:
            found[gen_key] = results[-1]
        tracked.put(ticket, found)
    if any(found[key] for key in keys[:markers]):
        return True
    if found[_MARKERS_COMPLETE]:
        return False
    _heal()
    return _revoked_in_database(sid)


def _revoked_in_database(sid: str | None) -> bool:
    # an access token's own revocation (logout) lives in Redis only; logout revokes its session too
    return bool(sid) and RefreshFamily.objects(id=sid, revoked_at__ne=None).count() > 0


def change_password(user: User, current: str, new: str, keep_session: str | None) -> None:
    """Set a new password and revoke every other session; raises ValidationError on a wrong password."""
    if not verify_password(user.hashed_password, current):
        raise ValidationError(["currentPassword: is incorrect"], code="INVALID_CURRENT_PASSWORD")
    User.objects(id=user.id).update_one(set__hashed_password=hash_password(new))
    dependents.wrote(user)
    revoke_user_sessions(user.id, "password-change", keep=keep_session)


# --- the sessions page (HF §11, docs/decisions/0067-sessions.md): a session is a live refresh family ---

def current_session(user: User, cookie: str | None, claimed_sid: str | None) -> str | None:
    """The caller's session: the family of a valid refresh cookie of `user` (what the reference
    uses), else the one the access token names (a client keeping its refresh token out of cookies)."""
    token = _presented(cookie)
    if token is not None and token.user_id == user.id:
        return str(token.family_id)
    return claimed_sid or None


def live_sessions(user: User) -> list[RefreshFamily]:
    """The user's sessions that can still refresh, most recently used first."""
    now = utcnow()
    families = [f for f in RefreshFamily.objects(user_id=user.id, revoked_at=None) if f.expires_at > now]
    return sorted(families, key=lambda f: f.last_used_at or f.created_at, reverse=True)


def revoke_session(user: User, session_id: str) -> None:
    """Revoke one of `user`'s sessions (the current one too); raises NotFoundError when it is not a
    live session of theirs (another user's, revoked, expired, or revoked by a concurrent call)."""
    family = RefreshFamily.objects(id=session_id).first()
    if (family is None or family.user_id != user.id or family.revoked_at is not None
            or family.expires_at <= utcnow() or not revoke_family(family.id, "revoked")):
        raise NotFoundError("Session not found")


def revoke_other_sessions(user: User, current: str | None) -> int:
    """Revoke every live session of `user` but `current`; returns how many this call revoked.
    Raises UnauthorizedError when the current session is unknown (nothing would be kept)."""
    if not current:
        raise UnauthorizedError("Could not determine current session")
    return sum(revoke_family(f.id, "revoked") for f in live_sessions(user) if str(f.id) != current)


def _user_removing(user: User) -> None:
    """A deleted account's session records, revoked already (kraken.admin revokes them first): each
    family's tokens by its id, then the families (indexed equalities). Without the records a lost
    Redis marker no longer refuses an access token of theirs, but its user lookup does: the user is gone."""
    for family_id in RefreshFamily.objects(user_id=user.id).scalar("id"):
        RefreshToken.objects(family_id=family_id).delete()
    RefreshFamily.objects(user_id=user.id).delete()


def init_app() -> None:
    domain.connect(domain.user_removing, _user_removing)
