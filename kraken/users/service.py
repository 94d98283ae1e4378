"""Users: registration by invite, the owner bootstrap, profiles, preferences and lookups."""
from __future__ import annotations

import logging
import re

from bson import ObjectId
from mongoengine import NotUniqueError

from kraken import dependents, domain
from kraken.auth.passwords import hash_password
from kraken.auth.service import revoke_user_sessions
from kraken.common.time import utcnow
from kraken.instance import service as instance
from kraken.errors import ConflictError, FeatureDisabledError, NotFoundError, ValidationError
from kraken.friends.lookups import blockers_of
from kraken.invites import service as invites
from kraken.memberships.models import Membership
from kraken.rbac import InstanceRole
from kraken.storage_quota.lookups import default_quota
from kraken.realtime.publish import disconnect_sockets
from kraken.users import directory
from kraken.users.lookups import active_user, get_user
from kraken.users.models import InstanceMarker, User

__all__ = ["active_user", "get_user"]  # lookups, also used by the features below users

log = logging.getLogger("kraken.users")
OWNER_MARKER = "owner"


def _claim_owner(user_id: ObjectId) -> bool:
    """True for the first user ever: a unique insert makes it race-free."""
    try:
        InstanceMarker(id=OWNER_MARKER, value=str(user_id)).save(force_insert=True)
        return True
    except NotUniqueError:
        return False


def _insert_user(username: str, password: str, email: str | None, role: str, user_id: ObjectId | None = None) -> User:
    """Store a new user (the owner verified; the instance's default storage quota) and index their name;
    `user_id` when the id was claimed before (onboarding's owner)."""
    user = User(id=user_id, username=username, email=email.lower() if email else None, role=role,
                hashed_password=hash_password(password), display_name=username,
                verified=role == InstanceRole.OWNER.value,
                # the instance's default quota (HF §12.3 Bug: the reference never applied it; decision 0065)
                storage_quota_bytes=default_quota(), storage_used_bytes=0)
    try:
        user.save(force_insert=True)
    except NotUniqueError as exc:
        field = "email" if "email" in str(exc) else "username"
        raise ConflictError(f"A user with this {field} already exists.", code=f"{field.upper()}_TAKEN") from None
    try:
        directory.index(user)
    except Exception:
        delete_account(user)
        raise
    return user


def delete_account(user: User) -> None:
    """Remove a user document and its search postings (compensation, and the end of an admin delete)."""
    directory.remove(user.id)
    User.objects(id=user.id).delete()
    dependents.wrote(user)
    instance.count("totalUsers", -1)


def _check_free(username: str, email: str | None) -> None:
    if User.objects(username=username).count():
        raise ConflictError("A user with this username already exists.", code="USERNAME_TAKEN")
    if email and User.objects(email=email.lower()).count():
        raise ConflictError("A user with this email already exists.", code="EMAIL_TAKEN")


def register(*, username: str, password: str, email: str | None, code: str | None, mode: str) -> User:
    """Create a user: invite checked, user stored, invite used; undone if a step fails
    (docs/decisions/0006-registration-by-invite.md).

    Raises FeatureDisabledError, ValidationError, NotFoundError/GoneError (invite), ConflictError.
    """
    if mode == "closed":
        raise FeatureDisabledError("Registration is closed on this instance")
    invite = None
    if code:
        invite = invites.get_valid_invite(code)
        if invite.scope != "INSTANCE":
            raise NotFoundError("No invite found for the provided code.", code="INVITE_NOT_FOUND")
    elif mode == "invite":
        raise ValidationError(["code: an invite code is required"], code="INVITE_REQUIRED")

    _check_free(username, email)
    user = _insert_user(username, password, email, InstanceRole.USER.value)
    try:
        if invite is not None:
            invites.redeem(invite, user.id)
        if _claim_owner(user.id):
            User.objects(id=user.id).update_one(set__role=InstanceRole.OWNER.value, set__verified=True)
            dependents.wrote(user)
            user.reload()
    except Exception:
        delete_account(user)
        raise
    if invite is not None:
        invites.join_communities(invite, user.id)
    log.info("user registered", extra={"user_id": str(user.id), "owner": user.role == "OWNER"})
    return user


def create_owner(username: str, password: str, email: str | None = None) -> User:
    """Bootstrap (CLI): create the instance OWNER; raises ConflictError if one exists or the name is taken."""
    if InstanceMarker.objects(id=OWNER_MARKER).count():
        raise ConflictError("This instance already has an owner.", code="OWNER_EXISTS")
    _check_free(username, email)
    user = _insert_user(username, password, email, InstanceRole.OWNER.value)
    if not _claim_owner(user.id):
        delete_account(user)
        raise ConflictError("This instance already has an owner.", code="OWNER_EXISTS")
    return user


def get_by_username(username: str) -> User:
    user = User.objects(username=username.strip().lower()).first()
    if user is None:
        raise NotFoundError("User not found")
    return user


def update_profile(user: User, changes: dict) -> User:
    """Apply the given profile fields (displayName, avatarUrl, bio, status); None clears one. A change
    is announced (`userProfileUpdated`, to the user and their communities)."""
    fields = {"displayName": "display_name", "avatarUrl": "avatar_url", "bio": "bio", "status": "status"}
    update = {}
    for key, value in changes.items():
        attr = fields[key]
        update[f"set__{attr}" if value is not None else f"unset__{attr}"] = value if value is not None else 1
    if update:
        User.objects(id=user.id).update_one(**update)
        dependents.wrote(user)
        user.reload()
        if "displayName" in changes:
            directory.index(user)
        domain.profile_updated.send(user)
    return user


def set_preferences(user: User, preferences: dict) -> dict:
    User.objects(id=user.id).update_one(set__preferences=preferences)
    dependents.wrote(user)
    return preferences


def list_users(limit: int, after: str | None) -> tuple[list[User], str | None]:
    """A page of users by username; the cursor (a user id) is exclusive."""
    query = User.objects(disabled__ne=True)
    if after:
        last = User.objects(id=after).only("username").first()
        if last is None:
            raise ValidationError(["continuationToken: unknown cursor"])
        query = query.filter(username__gt=last.username)
    users = list(query.order_by("username").limit(limit))
    return users, (str(users[-1].id) if len(users) == limit else None)


def search_users(q: str, limit: int, community_id: object | None = None, viewer_id: object | None = None
                 ) -> list[User]:
    """Active users whose username or display name contains `q` (case-insensitive), by username;
    with `community_id`, that community's members only (the caller's right to see them is the
    route's check). The members are read by one `communityId` equality and picked out of the name
    search here, not sent back as an `$in` (a scan on the default store, README "Storage"). Users
    who blocked `viewer_id` are left out (docs/decisions/0058-friends-and-blocks.md), picked out the
    same way (one `blockedId` equality)."""
    query = User.objects(disabled__ne=True)
    if q.strip():
        pattern = re.escape(q.strip())
        query = query.filter(__raw__={"$or": [{"username": {"$regex": pattern, "$options": "i"}},
                                               {"displayName": {"$regex": pattern, "$options": "i"}}]})
    query = query.order_by("username")
    hidden = blockers_of(viewer_id) if viewer_id is not None else set()
    if community_id is None and not hidden:
        return list(query.limit(limit))
    members = None
    if community_id is not None:
        members = set(Membership.objects(community_id=community_id).scalar("user_id"))
    else:  # enough rows that `limit` remain once the hidden ones are out
        query = query.limit(limit + len(hidden))
    found = []
    for user in query:
        if (members is None or user.id in members) and user.id not in hidden:
            found.append(user)
            if len(found) == limit:
                break
    return found


def set_disabled(user_id: str, disabled: bool, by: ObjectId | None = None) -> User:
    """Disable (ban) or re-enable a user. Disabling ends every refresh session and closes every socket of
    theirs on every process at once; `bannedAt`/`bannedById` record it. Raises NotFoundError, ConflictError."""
    user = get_user(user_id)
    if user.role == InstanceRole.OWNER.value and disabled:
        raise ConflictError("The instance owner cannot be disabled.", code="OWNER_PROTECTED")
    if disabled:
        changed = User.objects(id=user.id, disabled__ne=True).update_one(
            set__disabled=True, set__banned_at=utcnow(), set__banned_by_id=by)
    else:
        changed = User.objects(id=user.id, disabled=True).update_one(
            set__disabled=False, unset__banned_at=1, unset__banned_by_id=1)
    dependents.wrote(user)
    if changed:
        instance.count("bannedUsers", 1 if disabled else -1)
    if disabled:
        revoke_user_sessions(user.id, "disabled")
        disconnect_sockets(str(user.id))  # sockets of tokens issued without a session too
    user.reload()
    return user


def claim_owner(user_id: ObjectId) -> bool:
    """Reserve the instance's single OWNER for `user_id` before it exists (the first-run setup); False
    when another path (registration, the CLI, another setup) holds it."""
    return _claim_owner(user_id)


def release_owner(user_id: ObjectId) -> None:
    """Undo `claim_owner` (compensation of a failed setup)."""
    InstanceMarker.objects(id=OWNER_MARKER, value=str(user_id)).delete()


def create_claimed_owner(user_id: ObjectId, username: str, password: str, email: str | None) -> User:
    """Store the OWNER whose claim `claim_owner` holds (username and display name lower-cased, verified).
    Raises ConflictError when the name or e-mail was taken meanwhile."""
    return _insert_user(username, password, email, InstanceRole.OWNER.value, user_id=user_id)
