"""Invites: creation, validity and atomic redemption (decisions §6)."""
from __future__ import annotations

import secrets
import string
from datetime import datetime

from bson import ObjectId
from mongoengine import NotUniqueError, Q

from kraken.common.time import utcnow
from kraken.errors import GoneError, NotFoundError
from kraken.invites.models import Invite

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


def check_may_invite(actor, community_ids: list[ObjectId], scope: str) -> None:
    """Instance invites need CREATE_INSTANCE_INVITE; every listed community needs CREATE_INVITE there
    (an invite must not let strangers into communities its creator could not invite to)."""
    from kraken.errors import ForbiddenError
    from kraken.rbac import Action, community_grant, instance_grant, is_owner
    if is_owner(actor):
        return
    if scope == "INSTANCE" and not instance_grant(actor).has(Action.CREATE_INSTANCE_INVITE):
        raise ForbiddenError("Missing permission: CREATE_INSTANCE_INVITE")
    for community_id in community_ids:
        grant = community_grant(actor, community_id)
        if not grant.member or not grant.has(Action.CREATE_INVITE):
            raise ForbiddenError("Missing permission: CREATE_INVITE in community " + str(community_id))


def choose_scope(actor, community_ids: list[ObjectId]) -> str:
    """`POST /api/invite` with exactly one community from someone without instance invite rights
    makes a community invite (decisions §6)."""
    from kraken.rbac import Action, instance_grant
    if len(community_ids) == 1 and not instance_grant(actor).has(Action.CREATE_INSTANCE_INVITE):
        return "COMMUNITY"
    return "INSTANCE"


def list_instance_invites() -> list[Invite]:
    return list(Invite.objects(scope="INSTANCE").order_by("-created_at"))


def list_community_invites(community_id: ObjectId) -> list[Invite]:
    return list(Invite.objects(scope="COMMUNITY", community_ids=community_id).order_by("-created_at"))


def get_invite(code: str) -> Invite:
    invite = Invite.objects(code=code).first()
    if invite is None:
        raise NotFoundError("Invite not found")
    return invite


def check_may_delete(actor, invite: Invite) -> None:
    from kraken.errors import ForbiddenError
    from kraken.rbac import Action, community_grant, instance_grant, is_owner
    if is_owner(actor) or (invite.created_by_id is not None and invite.created_by_id == actor.id):
        return
    if invite.scope == "INSTANCE":
        if not instance_grant(actor).has(Action.DELETE_INSTANCE_INVITE):
            raise ForbiddenError("Missing permission: DELETE_INSTANCE_INVITE")
        return
    for community_id in invite.community_ids:
        grant = community_grant(actor, community_id)
        if not (grant.member and grant.has(Action.DELETE_INVITE)):
            raise ForbiddenError("Missing permission: DELETE_INVITE")


def disable(invite: Invite) -> Invite:
    """Deleting an invite disables it (the record stays for its usage history)."""
    Invite.objects(id=invite.id).update_one(set__disabled=True)
    invite.reload()
    return invite


def join_communities(invite: Invite, user_id: ObjectId) -> list[str]:
    """Make `user_id` a member of the invite's communities (Member role); returns those joined."""
    from kraken.communities.models import Community
    from kraken.memberships import service as memberships
    joined = []
    for community_id in invite.community_ids:
        if Community.objects(id=community_id).count() and memberships.join_if_needed(user_id, community_id):
            joined.append(str(community_id))
    return joined


def redeem_existing_user(code: str, user) -> list[str]:
    """An existing user redeems an invite: one use (never twice for the same user), then joins."""
    invite = Invite.objects(code=code).first()
    if invite is None:
        raise NotFoundError("No invite found for the provided code.", code="INVITE_NOT_FOUND")
    if user.id not in invite.used_by_ids:
        invite = get_valid_invite(code)
        redeem(invite, user.id)
    return join_communities(invite, user.id)
