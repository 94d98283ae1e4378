"""Invites: creation, validity and atomic redemption (docs/decisions/0012-invites.md)."""
from __future__ import annotations

import secrets
import string
from datetime import datetime

from bson import ObjectId
from mongoengine import NotUniqueError, Q

from kraken.common.time import utcnow
from kraken.communities.models import Community
from kraken.errors import ForbiddenError, GoneError, NotFoundError
from kraken.invites.models import Invite
from kraken.memberships import service as memberships
from kraken.moderation.models import ban_in_force

_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 12  # ~71 bits from the CSPRNG


def _new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def create_invite(*, created_by: ObjectId | None, max_uses: int | None = None,
                  valid_until: datetime | None = None, community_ids: list[ObjectId] | None = None,
                  scope: str = "INSTANCE") -> Invite:
    """Create an invite with a fresh unique code."""
    for _ in range(5):
        invite = Invite(code=_new_code(), scope=scope, created_by_id=created_by, max_uses=max_uses,
                        remaining=max_uses, valid_until=valid_until, community_ids=community_ids or [])
        try:
            return invite.save(force_insert=True)
        except NotUniqueError:
            continue
    raise RuntimeError("could not generate a unique invite code")


def _usable(invite: Invite, now: datetime) -> bool:
    return not invite.disabled and (invite.valid_until is None or invite.valid_until > now) \
        and (invite.max_uses is None or (invite.remaining or 0) > 0)


def get_valid_invite(code: str) -> Invite:
    """The invite for `code` if it can still be used; raises NotFoundError (unknown) or GoneError."""
    invite = Invite.objects(code=code).first()
    if invite is None:
        raise NotFoundError("No invite found for the provided code.", code="INVITE_NOT_FOUND")
    if not _usable(invite, utcnow()):
        raise GoneError("This invite has expired, been used up or been disabled.", code="INVITE_UNAVAILABLE")
    return invite


def redeem(invite: Invite, user_id: ObjectId) -> bool:
    """Count one use of `invite` by `user_id` with a conditional update.

    Returns True when this call used the invite, False when the user had already
    used it (no second use). Raises GoneError when it was used up, disabled or
    expired in the meantime: `uses` never exceeds `maxUses` under concurrency.
    """
    now = utcnow()
    query = Q(id=invite.id, disabled=False) & (Q(valid_until=None) | Q(valid_until__gt=now)) \
        & Q(used_by_ids__ne=user_id)
    if invite.max_uses is None:
        updated = Invite.objects(query).update_one(inc__uses=1, push__used_by_ids=user_id)
    else:
        updated = Invite.objects(query & Q(remaining__gt=0)).update_one(
            inc__uses=1, dec__remaining=1, push__used_by_ids=user_id)
    if updated:
        return True
    if Invite.objects(id=invite.id, used_by_ids=user_id).count():
        return False
    raise GoneError("This invite has expired, been used up or been disabled.", code="INVITE_UNAVAILABLE")


def release(invite: Invite, user_id: ObjectId) -> None:
    """Undo `redeem` for `user_id` (compensation when the step after it failed)."""
    update = {"dec__uses": 1, "pull__used_by_ids": user_id}
    if invite.max_uses is not None:
        update["inc__remaining"] = 1
    Invite.objects(id=invite.id, used_by_ids=user_id).update_one(**update)


def list_instance_invites() -> list[Invite]:
    return list(Invite.objects(scope="INSTANCE").order_by("-created_at"))


def list_community_invites(community_id: ObjectId) -> list[Invite]:
    return list(Invite.objects(scope="COMMUNITY", community_ids=community_id).order_by("-created_at"))


def find_invite(code: str) -> Invite | None:
    return Invite.objects(code=code).first()


def get_invite(code: str) -> Invite:
    invite = Invite.objects(code=code).first()
    if invite is None:
        raise NotFoundError("Invite not found")
    return invite


def disable(invite: Invite) -> Invite:
    """Deleting an invite disables it (the record stays for its usage history)."""
    Invite.objects(id=invite.id).update_one(set__disabled=True)
    invite.reload()
    return invite


def join_communities(invite: Invite, user_id: ObjectId) -> list[str]:
    """Make `user_id` a member of the invite's communities (Member role); returns those joined. A
    community that bans the user is left out (docs/decisions/0053-moderation.md)."""
    joined = []
    for community_id in invite.community_ids:
        try:
            if Community.objects(id=community_id).count() and memberships.join_if_needed(user_id, community_id):
                joined.append(str(community_id))
        except ForbiddenError:  # banned there (the join refused it)
            continue
    return joined


def redeem_existing_user(code: str, user) -> list[str]:
    """An existing user redeems an invite: one use (never twice for the same user), then joins."""
    invite = Invite.objects(code=code).first()
    if invite is None:
        raise NotFoundError("No invite found for the provided code.", code="INVITE_NOT_FOUND")
    if invite.community_ids and all(ban_in_force(c, user.id) for c in invite.community_ids):
        raise ForbiddenError("You are banned from this community", code="BANNED")  # and the invite stays unused
    if user.id not in invite.used_by_ids:
        invite = get_valid_invite(code)
        redeem(invite, user.id)
    return join_communities(invite, user.id)
