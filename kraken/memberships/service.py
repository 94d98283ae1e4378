"""Community membership: join (with the Member role), listing, removal and leaving."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import NamedTuple

from bson import ObjectId
from mongoengine import NotUniqueError

from kraken import dependents, domain
from kraken.channel_memberships.models import ChannelMembership
from kraken.channels.models import Channel
from kraken.common.lookups import each
from kraken.errors import ConflictError, ForbiddenError, NotFoundError
from kraken.memberships import directory
from kraken.memberships.models import Membership
from kraken.moderation.models import ban_in_force
from kraken.roles import service as roles
from kraken.roles.models import UserRole
from kraken.users.lookups import active_user
from kraken.users.models import User

SEARCH_LIMIT = 50  # most members one search returns (decision 0056)


def _banned() -> ForbiddenError:
    return ForbiddenError("You are banned from this community", code="BANNED")


def join(user_id: ObjectId, community_id: ObjectId) -> Membership:
    """Make a user a member with the Member role; their sockets join the community's rooms and
    hear `memberAddedToCommunity`. Raises ConflictError if already one, ForbiddenError (BANNED)
    while a ban from the community holds.

    A ban racing this join: the ban is written before its removal reads the membership, and this
    join reads the ban after writing the membership (and its role), so one of the two sees the
    other; read again after the rooms moved, for a ban that came in between
    (docs/decisions/0053-moderation.md)."""
    if ban_in_force(community_id, user_id):
        raise _banned()
    try:
        membership = Membership(user_id=user_id, community_id=community_id).save(force_insert=True)
    except NotUniqueError:
        raise ConflictError("User is already a member of this community", code="ALREADY_MEMBER") from None
    roles.give_member_role(user_id, community_id)
    if ban_in_force(community_id, user_id):
        _forget(community_id, user_id)
        raise _banned()
    domain.member_joined.send(community_id, user_id=user_id)
    if ban_in_force(community_id, user_id):  # the rooms this join moved its sockets into: out again
        _forget(community_id, user_id)
        _left(community_id, user_id)
        raise _banned()
    return membership


def _left(community_id: object, user_id: object) -> None:
    domain.member_left.send(community_id, user_id=user_id,
                            channel_ids=list(Channel.objects(community_id=community_id).scalar("id")))


def _forget(community_id: object, user_id: object) -> bool:
    """Delete a membership and what hangs on it; True when this call deleted the membership."""
    deleted = Membership.objects(community_id=community_id, user_id=user_id).delete()
    ChannelMembership.objects(community_id=community_id, user_id=user_id).delete()
    UserRole.objects(community_id=community_id, user_id=user_id).delete()
    dependents.wrote(Membership, ChannelMembership, UserRole, community_id=community_id, user_id=user_id)
    return bool(deleted)


def join_if_needed(user_id: ObjectId, community_id: ObjectId) -> bool:
    """Idempotent join (invites); True when the user was added."""
    try:
        join(user_id, community_id)
    except ConflictError:
        return False
    return True


def add_member(user_id: str, community_id: ObjectId) -> Membership:
    """Add an existing user (CREATE_MEMBER); raises 404 (user), 409 (already a member)."""
    if active_user(user_id) is None:
        raise NotFoundError("User or community not found")
    return join(ObjectId(user_id), community_id)


def members(community_id: object) -> list[Membership]:
    return list(Membership.objects(community_id=community_id).order_by("joined_at"))


def get(community_id: object, user_id: str) -> Membership:
    membership = Membership.objects(community_id=community_id, user_id=user_id).first()
    if membership is None:
        raise NotFoundError("Membership not found")
    return membership


def of_user(user_id: object) -> list[Membership]:
    return list(Membership.objects(user_id=user_id).order_by("joined_at"))


def remove(community_id: object, user_id: object, *, missing_ok: bool = False) -> None:
    """Remove a member and what hangs on the membership (channel memberships, roles).

    Their sockets leave the community's rooms on every process. The last Community Admin cannot
    be removed (409). Raises NotFoundError (not a member, or removed by a concurrent call first),
    unless `missing_ok` (a ban of a user who is not a member: whatever hangs on them goes all the
    same; no event, as no socket of theirs is in the rooms)."""
    user_id = ObjectId(str(user_id))
    if not missing_ok:
        get(community_id, str(user_id))
    roles.protect_last_admin(user_id, community_id)
    if not _forget(community_id, user_id):
        if missing_ok:
            return
        raise NotFoundError("Membership not found")
    _left(community_id, user_id)


_PUBLIC = {"username": 1, "role": 1, "avatarUrl": 1, "lastSeen": 1, "displayName": 1, "bio": 1, "status": 1,
           "createdAt": 1, "disabled": 1}


def public_user(user_id: str) -> SimpleNamespace | None:
    """What public User JSON needs of an active user: one `_id` read of those fields, no document built
    (a search's hits are mostly users this process has no copy of)."""
    found = User._get_collection().find_one({"_id": ObjectId(user_id)}, _PUBLIC)
    if found is None or found.get("disabled"):
        return None
    return SimpleNamespace(id=found["_id"], username=found["username"], role=found.get("role"),
                           avatar_url=found.get("avatarUrl"), last_seen=found.get("lastSeen"),
                           display_name=found.get("displayName"), bio=found.get("bio"),
                           status=found.get("status"), created_at=found.get("createdAt"))


class Member(NamedTuple):
    """A membership as the community's directory states it (what MembershipOut reads)."""
    id: str
    user_id: str
    community_id: object
    joined_at: datetime


def _matches(text: str, query: str):
    """(user id, membership id, joined at ms) of the directory lines whose username or display name
    contains `query` (lower-cased), in username order."""
    sep = directory.SEP
    for line in text.split("\n") if text else ():
        if query not in line:  # the common case, in C
            continue
        username, display, user_id, membership_id, joined_ms = line.split(sep)
        if query in username or query in display:
            yield user_id, membership_id, joined_ms


def search(community_id: object, query: str, limit: int) -> list[tuple[Member, SimpleNamespace]]:
    """Members whose username or display name contains `query` (case-insensitive), by username, at
    most `limit` (capped at SEARCH_LIMIT). One `_id` read of the community's directory (which states
    each membership), then each hit's user (an `_id` read of its public fields), a few at a time
    (decision 0056)."""
    limit = min(limit, SEARCH_LIMIT)
    needle = query.strip().lower()
    if directory.SEP in needle or "\n" in needle:
        return []
    hits = _matches(directory.read(community_id), needle)
    found: list[tuple[Member, SimpleNamespace]] = []

    def one(hit):
        user_id, membership_id, joined_ms = hit
        user = public_user(user_id)
        if user is None:
            return None
        joined = datetime.fromtimestamp(int(joined_ms) / 1000, tz=timezone.utc)
        return Member(membership_id, user_id, community_id, joined), user

    while len(found) < limit:
        batch = [hit for _, hit in zip(range(limit - len(found)), hits)]
        if not batch:
            break
        found.extend(pair for pair in each(one, batch) if pair is not None)
    return found
