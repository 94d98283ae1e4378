"""Moderation (kraken-later-endpoints §12, §13; docs/decisions/0053-moderation.md): bans, kicks,
timeouts, the moderator's delete and the moderation log.

The caller's action in the community (BAN_USER, ...) is checked by the route; the rule of who may act
on whom (self, the instance owner, role priority) by the gate (`require_may_moderate`). Each action
writes, then records exactly one log entry, then announces itself. A ban and a kick remove the
membership through the memberships service, whose `member_left` moves the user's sockets out of the
community's rooms on every process; a ban is checked by every join (kraken.memberships). A timeout is
enforced by the permission answer every send, edit and reaction already reads (kraken.rbac).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from mongoengine import NotUniqueError, Q

from kraken import dependents, domain
from kraken.channels.models import Channel
from kraken.common.time import iso, utcnow
from kraken.errors import ConflictError, ForbiddenError, NotFoundError
from kraken.memberships import service as memberships
from kraken.memberships.models import Membership
from kraken.messages import service as messages
from kraken.moderation.models import (CommunityBan, CommunityTimeout, ModerationAction, ModerationLog, member_key,
                                      record)
from kraken.moderation.schemas import ban_out, log_out, timeout_out, users_by_id
from kraken.rbac import require_may_moderate
from kraken.realtime import names
from kraken.realtime.publish import publish
from kraken.realtime.rooms import community_room, user_room
from kraken.roles import service as roles
from kraken.users.lookups import get_user


def _event(community_id, user_id, moderator, reason: str | None, **extra) -> dict:
    """The events' payload; `reason` (and `expiresAt`) only when set, as the reference's JSON."""
    payload = {"communityId": str(community_id), "userId": str(user_id), "moderatorId": str(moderator.id)}
    if reason is not None:
        payload["reason"] = reason
    return {**payload, **{k: v for k, v in extra.items() if v is not None}}


def _member_target(actor, community_id, user_id: str, verb: str):
    """The user acted upon, once the actor may act on them and they are a member. Raises NotFoundError
    (no such user; not a member), ForbiddenError (self, the owner, role priority)."""
    target = get_user(user_id)
    require_may_moderate(actor, target, community_id, verb)
    if not Membership.objects(community_id=community_id, user_id=target.id).count():
        raise NotFoundError("User is not a member of this community")
    return target


# --- bans -----------------------------------------------------------------------------------------

def _claim_ban(actor, community_id, target, reason: str | None, expires_at: datetime | None) -> None:
    """Write the ban: a new record, or one replacing a lifted or expired ban; ConflictError while one
    holds (of two concurrent bans, one)."""
    now = utcnow()
    fields = dict(community_id=community_id, user_id=target.id, moderator_id=actor.id, reason=reason,
                  expires_at=expires_at, active=True, created_at=now)
    key = member_key(community_id, target.id)
    try:
        CommunityBan(id=key, **fields).save(force_insert=True)
        return
    except NotUniqueError:
        pass
    over = Q(id=key) & (Q(active=False) | Q(expires_at__lte=now))
    if not CommunityBan.objects(over).update_one(**{f"set__{name}": value for name, value in fields.items()}):
        raise ConflictError("User is already banned", code="ALREADY_BANNED")


def ban(actor, community_id, user_id: str, reason: str | None, expires_at: datetime | None) -> None:
    """Ban a user: the ban, then their membership, channel memberships and community roles go (their
    sockets leave the community's rooms on every process); `userBanned` to the user and the community.
    A user who already left can be banned too (no dodging a ban by leaving first). Raises
    NotFoundError (no such user), ForbiddenError, ConflictError (already banned; the last Community
    Admin)."""
    target = get_user(user_id)
    require_may_moderate(actor, target, community_id, "ban")
    roles.protect_last_admin(target.id, community_id)  # before any write
    _claim_ban(actor, community_id, target, reason, expires_at)
    try:
        memberships.remove(community_id, target.id, missing_ok=True)
    except ConflictError:  # became the last admin meanwhile: no ban after all
        CommunityBan.objects(id=member_key(community_id, target.id)).delete()
        raise
    record(community_id, actor.id, ModerationAction.BAN_USER, target_user_id=target.id, reason=reason,
           metadata={"expiresAt": iso(expires_at)})
    publish(names.USER_BANNED, _event(community_id, target.id, actor, reason, expiresAt=iso(expires_at)),
            [user_room(target.id), community_room(community_id)])


def unban(actor, community_id, user_id: str, reason: str | None) -> None:
    """Lift a ban that holds (the record stays, inactive). Raises NotFoundError `User is not banned`."""
    key = member_key(str(community_id), user_id)
    now = utcnow()
    holds = Q(id=key, active=True) & (Q(expires_at=None) | Q(expires_at__gt=now))
    if not CommunityBan.objects(holds).update_one(set__active=False):
        raise NotFoundError("User is not banned")
    record(community_id, actor.id, ModerationAction.UNBAN_USER, target_user_id=user_id, reason=reason)


def bans(community_id) -> list[dict]:
    """The bans that hold, newest first."""
    now = utcnow()
    held = sorted((b for b in CommunityBan.objects(community_id=community_id, active=True) if b.in_force(now)),
                  key=lambda b: b.created_at, reverse=True)
    users = users_by_id([b.user_id for b in held] + [b.moderator_id for b in held])
    return [ban_out(b, users) for b in held]


# --- kicks ----------------------------------------------------------------------------------------

def kick(actor, community_id, user_id: str, reason: str | None) -> None:
    """Remove a member (they may come back with an invite); `userKicked` to the user and the community.
    Raises NotFoundError, ForbiddenError, ConflictError (the last Community Admin)."""
    target = _member_target(actor, community_id, user_id, "kick")
    try:
        memberships.remove(community_id, target.id)
    except NotFoundError:  # removed by a concurrent call
        raise NotFoundError("User is not a member of this community") from None
    record(community_id, actor.id, ModerationAction.KICK_USER, target_user_id=target.id, reason=reason)
    publish(names.USER_KICKED, _event(community_id, target.id, actor, reason),
            [user_room(target.id), community_room(community_id)])


# --- timeouts -------------------------------------------------------------------------------------

def timeout(actor, community_id, user_id: str, duration_seconds: int, reason: str | None) -> datetime:
    """Time a member out for `duration_seconds` (a new timeout replaces the one running); every
    process refuses their sends, edits and reactions in the community from the next one on, until
    the end. `userTimedOut` to the community. Raises NotFoundError, ForbiddenError."""
    target = _member_target(actor, community_id, user_id, "timeout")
    now = utcnow()
    expires_at = now + timedelta(seconds=duration_seconds)
    CommunityTimeout.objects(id=member_key(community_id, target.id)).update_one(
        upsert=True, set__community_id=community_id, set__user_id=target.id, set__moderator_id=actor.id,
        set__reason=reason, set__expires_at=expires_at, set__created_at=now)
    dependents.wrote(CommunityTimeout, community_id=community_id)  # the member's permission answer
    record(community_id, actor.id, ModerationAction.TIMEOUT_USER, target_user_id=target.id, reason=reason,
           metadata={"durationSeconds": duration_seconds, "expiresAt": iso(expires_at)})
    publish(names.USER_TIMED_OUT, _event(community_id, target.id, actor, reason, durationSeconds=duration_seconds,
                                         expiresAt=iso(expires_at)), community_room(community_id))
    return expires_at


def remove_timeout(actor, community_id, user_id: str, reason: str | None) -> None:
    """End a running timeout early; `timeoutRemoved` to the community. Raises NotFoundError `User is
    not timed out` (none, or over), ForbiddenError (as for a timeout)."""
    target = get_user(user_id)
    require_may_moderate(actor, target, community_id, "timeout")
    key = member_key(community_id, target.id)
    running = CommunityTimeout.objects(id=key).first()
    if running is None or running.expires_at <= utcnow() \
            or not CommunityTimeout.objects(id=key, expires_at=running.expires_at).delete():
        raise NotFoundError("User is not timed out")
    dependents.wrote(CommunityTimeout, community_id=community_id)
    record(community_id, actor.id, ModerationAction.REMOVE_TIMEOUT, target_user_id=target.id, reason=reason)
    publish(names.TIMEOUT_REMOVED, _event(community_id, target.id, actor, reason), community_room(community_id))


def timeouts(community_id) -> list[dict]:
    """The timeouts running now, newest first."""
    now = utcnow()
    running = sorted((t for t in CommunityTimeout.objects(community_id=community_id) if t.expires_at > now),
                     key=lambda t: t.created_at, reverse=True)
    users = users_by_id([t.user_id for t in running] + [t.moderator_id for t in running])
    return [timeout_out(t, users) for t in running]


def timeout_status(community_id, user_id: str) -> dict:
    """`{isTimedOut, expiresAt?}` of a user in the community."""
    running = CommunityTimeout.objects(id=member_key(community_id, user_id)).first()
    if running is None or running.expires_at <= utcnow():
        return {"isTimedOut": False}
    return {"isTimedOut": True, "expiresAt": iso(running.expires_at)}


# --- the moderator's delete -----------------------------------------------------------------------

def delete_message(actor, message, reason: str | None) -> None:
    """Delete a channel message as a moderator (DELETE_ANY_MESSAGE, checked by the route): the same hard
    delete as the author's (`deleteMessage` to its channel, its thread and files gone), then one log
    entry with the reason. Raises ForbiddenError (a direct message), NotFoundError (deleted meanwhile)."""
    if message.channel_id is None:
        raise ForbiddenError("Cannot delete direct messages as moderator", code="DIRECT_MESSAGE")
    community_id = _community_of(message)
    messages.remove(message)
    record(community_id, actor.id, ModerationAction.DELETE_MESSAGE, target_message_id=message.id, reason=reason,
           target_user_id=message.author_id, metadata={"authorId": str(message.author_id),
                                                       "channelId": str(message.channel_id)})


def _community_of(message):
    return Channel.objects(id=message.channel_id).scalar("community_id").first()


# --- the log --------------------------------------------------------------------------------------

def logs(community_id, limit: int, offset: int, action: str | None) -> dict:
    """`{logs, total}`: a page of the community's log, newest first (optionally one action)."""
    query = ModerationLog.objects(community_id=community_id)
    if action is not None:
        query = query.filter(action=action)
    total = query.count()
    page = list(query.order_by("-created_at", "-id").skip(offset).limit(limit))
    users = users_by_id([e.moderator_id for e in page] + [e.target_user_id for e in page])
    return {"logs": [log_out(e, users) for e in page], "total": total}


def _community_removing(community_id, *, channel_ids) -> None:
    """A deleted community's bans, timeouts and log go with it."""
    for document in (CommunityBan, CommunityTimeout, ModerationLog):
        document.objects(community_id=community_id).delete()


def _user_removing(user) -> None:
    """A deleted account's bans and timeouts, in every community (one indexed equality each); the log,
    the audit trail, keeps its entries about them."""
    CommunityBan.objects(user_id=user.id).delete()
    community_ids = set(CommunityTimeout.objects(user_id=user.id).scalar("community_id"))
    CommunityTimeout.objects(user_id=user.id).delete()
    for community_id in community_ids:
        dependents.wrote(CommunityTimeout, community_id=community_id)  # the permission answers there


def init_app() -> None:
    domain.connect(domain.community_removing, _community_removing)
    domain.connect(domain.user_removing, _user_removing)
