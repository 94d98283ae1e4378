"""Permissions in one place: the action enum, role templates, `require_*` decorators and `access_*` loaders.

One resolver serves REST and Socket.IO: a resource (COMMUNITY, CHANNEL,
MESSAGE, INSTANCE) is resolved to its community, and the caller's actions
there (the union of their roles' actions, cached by kraken.permcache) decide.
The instance OWNER passes every check. Loaders raise NotFoundError both for
missing objects and for objects the caller may not see (private channels).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import g, request
from flask_jwt_extended import current_user as _jwt_current_user, get_jwt, verify_jwt_in_request

from kraken import permcache
from kraken.common.ids import parse_object_id
from kraken.common.lookups import by_ids
from kraken.errors import ForbiddenError, NotFoundError, ValidationError
from kraken.localcache import StampedCache

F = TypeVar("F", bound=Callable)


class Action(str, Enum):
    """The contract's 43 RbacActions plus UPDATE_MESSAGE and MANAGE_VOICE (decisions §3)."""

    DELETE_MESSAGE = "DELETE_MESSAGE"
    DELETE_CHANNEL = "DELETE_CHANNEL"
    DELETE_COMMUNITY = "DELETE_COMMUNITY"
    DELETE_INVITE = "DELETE_INVITE"
    DELETE_USER = "DELETE_USER"
    DELETE_ROLE = "DELETE_ROLE"
    DELETE_ALIAS_GROUP = "DELETE_ALIAS_GROUP"
    DELETE_ALIAS_GROUP_MEMBER = "DELETE_ALIAS_GROUP_MEMBER"
    DELETE_INSTANCE_INVITE = "DELETE_INSTANCE_INVITE"
    DELETE_MEMBER = "DELETE_MEMBER"
    DELETE_REACTION = "DELETE_REACTION"
    DELETE_ATTACHMENT = "DELETE_ATTACHMENT"
    CREATE_MESSAGE = "CREATE_MESSAGE"
    CREATE_CHANNEL = "CREATE_CHANNEL"
    CREATE_COMMUNITY = "CREATE_COMMUNITY"
    CREATE_INVITE = "CREATE_INVITE"
    CREATE_USER = "CREATE_USER"
    CREATE_ROLE = "CREATE_ROLE"
    CREATE_ALIAS_GROUP = "CREATE_ALIAS_GROUP"
    CREATE_ALIAS_GROUP_MEMBER = "CREATE_ALIAS_GROUP_MEMBER"
    CREATE_INSTANCE_INVITE = "CREATE_INSTANCE_INVITE"
    CREATE_MEMBER = "CREATE_MEMBER"
    CREATE_REACTION = "CREATE_REACTION"
    CREATE_ATTACHMENT = "CREATE_ATTACHMENT"
    JOIN_CHANNEL = "JOIN_CHANNEL"
    READ_MESSAGE = "READ_MESSAGE"
    READ_CHANNEL = "READ_CHANNEL"
    READ_COMMUNITY = "READ_COMMUNITY"
    READ_ALL_COMMUNITIES = "READ_ALL_COMMUNITIES"
    READ_USER = "READ_USER"
    READ_ROLE = "READ_ROLE"
    READ_ALIAS_GROUP = "READ_ALIAS_GROUP"
    READ_ALIAS_GROUP_MEMBER = "READ_ALIAS_GROUP_MEMBER"
    READ_INSTANCE_INVITE = "READ_INSTANCE_INVITE"
    READ_MEMBER = "READ_MEMBER"
    UPDATE_COMMUNITY = "UPDATE_COMMUNITY"
    UPDATE_CHANNEL = "UPDATE_CHANNEL"
    UPDATE_USER = "UPDATE_USER"
    UPDATE_ROLE = "UPDATE_ROLE"
    UPDATE_ALIAS_GROUP = "UPDATE_ALIAS_GROUP"
    UPDATE_ALIAS_GROUP_MEMBER = "UPDATE_ALIAS_GROUP_MEMBER"
    UPDATE_INSTANCE_INVITE = "UPDATE_INSTANCE_INVITE"
    UPDATE_MEMBER = "UPDATE_MEMBER"
    UPDATE_MESSAGE = "UPDATE_MESSAGE"
    MANAGE_VOICE = "MANAGE_VOICE"


class InstanceRole(str, Enum):
    OWNER = "OWNER"
    USER = "USER"


def require_auth(fn: F) -> F:
    """Require a valid, unrevoked access token of an active user; raises UnauthorizedError (401)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        verify_jwt_in_request()
        g.user_id = str(_jwt_current_user.id)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def current_user():
    """The authenticated User document (only inside `require_auth`)."""
    return _jwt_current_user._get_current_object()


def current_session_id() -> str | None:
    """The refresh-token family the current access token was issued for."""
    return get_jwt().get("sid")


def is_owner(user) -> bool:
    return user.role == InstanceRole.OWNER.value


def require_owner(fn: F) -> F:
    """Only the instance OWNER passes; raises ForbiddenError (403)."""

    @require_auth
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if not is_owner(current_user()):
            raise ForbiddenError()
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Resource(str, Enum):
    COMMUNITY = "COMMUNITY"
    CHANNEL = "CHANNEL"
    MESSAGE = "MESSAGE"
    INSTANCE = "INSTANCE"


A = Action
# The contract's Community Admin (32) plus JOIN_CHANNEL, UPDATE_MESSAGE, MANAGE_VOICE (decisions §3).
COMMUNITY_ADMIN_ACTIONS = frozenset({
    A.UPDATE_COMMUNITY, A.DELETE_COMMUNITY, A.READ_COMMUNITY, A.CREATE_CHANNEL, A.UPDATE_CHANNEL,
    A.DELETE_CHANNEL, A.READ_CHANNEL, A.CREATE_MEMBER, A.UPDATE_MEMBER, A.DELETE_MEMBER, A.READ_MEMBER,
    A.CREATE_MESSAGE, A.DELETE_MESSAGE, A.READ_MESSAGE, A.CREATE_ROLE, A.UPDATE_ROLE, A.DELETE_ROLE,
    A.READ_ROLE, A.CREATE_INVITE, A.DELETE_INVITE, A.READ_INSTANCE_INVITE, A.CREATE_ALIAS_GROUP,
    A.UPDATE_ALIAS_GROUP, A.DELETE_ALIAS_GROUP, A.READ_ALIAS_GROUP, A.CREATE_ALIAS_GROUP_MEMBER,
    A.DELETE_ALIAS_GROUP_MEMBER, A.READ_ALIAS_GROUP_MEMBER, A.CREATE_REACTION, A.DELETE_REACTION,
    A.CREATE_ATTACHMENT, A.DELETE_ATTACHMENT,
    A.JOIN_CHANNEL, A.UPDATE_MESSAGE, A.MANAGE_VOICE})
# The contract's Moderator (17) plus JOIN_CHANNEL and MANAGE_VOICE.
MODERATOR_ACTIONS = frozenset({
    A.READ_COMMUNITY, A.READ_CHANNEL, A.READ_MEMBER, A.READ_MESSAGE, A.READ_ROLE, A.CREATE_MESSAGE,
    A.DELETE_MESSAGE, A.CREATE_CHANNEL, A.UPDATE_CHANNEL, A.CREATE_MEMBER, A.UPDATE_MEMBER,
    A.CREATE_REACTION, A.DELETE_REACTION, A.CREATE_ATTACHMENT, A.DELETE_ATTACHMENT, A.READ_ALIAS_GROUP,
    A.READ_ALIAS_GROUP_MEMBER, A.JOIN_CHANNEL, A.MANAGE_VOICE})
MEMBER_ACTIONS = frozenset({
    A.READ_COMMUNITY, A.READ_CHANNEL, A.READ_MESSAGE, A.CREATE_MESSAGE, A.READ_MEMBER, A.READ_ROLE,
    A.CREATE_REACTION, A.DELETE_REACTION, A.CREATE_ATTACHMENT, A.JOIN_CHANNEL})
INSTANCE_ADMIN_ACTIONS = frozenset({
    A.READ_INSTANCE_INVITE, A.CREATE_INSTANCE_INVITE, A.DELETE_INSTANCE_INVITE, A.UPDATE_INSTANCE_INVITE,
    A.READ_USER, A.UPDATE_USER, A.DELETE_USER, A.READ_ALL_COMMUNITIES})

COMMUNITY_ADMIN = "Community Admin"
MODERATOR = "Moderator"
MEMBER = "Member"
INSTANCE_ADMIN = "Instance Admin"
DEFAULT_COMMUNITY_ROLES = {COMMUNITY_ADMIN: COMMUNITY_ADMIN_ACTIONS, MODERATOR: MODERATOR_ACTIONS,
                           MEMBER: MEMBER_ACTIONS}
DEFAULT_INSTANCE_ROLES = {INSTANCE_ADMIN: INSTANCE_ADMIN_ACTIONS}
ALL_ACTIONS = frozenset(a.value for a in Action)


@dataclass(frozen=True)
class Grant:
    """What one user may do in one scope (a community, or the instance)."""

    owner: bool
    member: bool
    actions: frozenset[str]
    private_channels: frozenset[str] = frozenset()
    # the scope's cache generation, read before this answer and before any later database read
    generation: str | None = field(default=None, compare=False)
    # ids of the user's roles in the community (None: an answer cached before they were recorded)
    role_ids: frozenset[str] | None = field(default=None, compare=False)

    def has(self, *actions: Action | str) -> bool:
        return self.owner or all(str(getattr(a, "value", a)) in self.actions for a in actions)

    def missing(self, actions) -> list[str]:
        return [] if self.owner else sorted(str(getattr(a, "value", a)) for a in actions
                                            if str(getattr(a, "value", a)) not in self.actions)


def _compute_community(user_id: str, community_id: str) -> dict:
    from kraken.channel_memberships.models import ChannelMembership
    from kraken.memberships.models import Membership
    from kraken.roles.models import Role, UserRole
    if not Membership.objects(user_id=user_id, community_id=community_id).count():
        return {"member": False, "actions": [], "channels": [], "roles": []}
    role_ids = list(UserRole.objects(user_id=user_id, community_id=community_id).scalar("role_id"))
    actions = set()
    for role_actions in by_ids(Role, role_ids, "actions"):
        actions.update(role_actions)
    channels = [str(c) for c in ChannelMembership.objects(user_id=user_id, community_id=community_id)
                .scalar("channel_id")]
    return {"member": True, "actions": sorted(actions), "channels": channels, "roles": [str(r) for r in role_ids]}


def _compute_instance(user_id: str) -> dict:
    from kraken.roles.models import Role, UserRole
    role_ids = list(UserRole.objects(user_id=user_id, is_instance_role=True).scalar("role_id"))
    actions = set()
    for role_actions in by_ids(Role, role_ids, "actions"):
        actions.update(role_actions)
    return {"actions": sorted(actions)}


def community_grant(user, community_id: object) -> Grant:
    """The user's membership, actions and private channels in a community (cached)."""
    uid, cid = str(user.id), str(community_id)
    data, generation = permcache.cached(cid, uid, lambda: _compute_community(uid, cid))
    owner = is_owner(user)
    return Grant(owner=owner, member=data["member"], actions=ALL_ACTIONS if owner else frozenset(data["actions"]),
                 private_channels=frozenset(data["channels"]), generation=generation,
                 role_ids=frozenset(data["roles"]) if "roles" in data else None)


def enterable_channels(user) -> dict[str, frozenset[str] | None]:
    """Each community the user is a member of, with the private channels they may enter there
    (None: all of them, for the instance owner). Entering asks for membership alone, never for an
    action (`can_see_channel(..., enter=True)`), so this is two equality queries whatever the number
    of communities: what `subscribeAll` joins, also right after a cache flush."""
    from kraken.channel_memberships.models import ChannelMembership
    from kraken.memberships.models import Membership
    communities = [str(c) for c in Membership.objects(user_id=user.id).scalar("community_id")]
    if is_owner(user):
        return dict.fromkeys(communities)
    private: dict[str, set[str]] = {c: set() for c in communities}
    for community_id, channel_id in ChannelMembership.objects(user_id=user.id).scalar("community_id", "channel_id"):
        private.get(str(community_id), set()).add(str(channel_id))
    return {c: frozenset(ids) for c, ids in private.items()}


def instance_grant(user) -> Grant:
    uid = str(user.id)
    data, _ = permcache.cached(permcache.INSTANCE_SCOPE, uid, lambda: _compute_instance(uid))
    owner = is_owner(user)
    return Grant(owner=owner, member=True, actions=ALL_ACTIONS if owner else frozenset(data["actions"]))


def _deny(grant: Grant, actions) -> None:
    if not grant.owner and not grant.member:
        raise ForbiddenError("You are not a member of this community", code="NOT_A_MEMBER")
    if missing := grant.missing(actions):
        raise ForbiddenError("Missing permission: " + ", ".join(missing))


def require_instance_actions(user, *actions: Action) -> Grant:
    """Instance-scoped check; raises ForbiddenError."""
    grant = instance_grant(user)
    if not grant.has(*actions):
        raise ForbiddenError("Missing permission: " + ", ".join(grant.missing(actions)))
    return grant


# Communities and channels by id, trusted while their community's generation is unchanged
# (kraken.localcache): the permission lookup every access makes anyway validates them.
_communities: StampedCache = StampedCache(4096)
_channels: StampedCache = StampedCache(16384)


def _in_community(cache: StampedCache, key: str, fetch, community_of, user) -> tuple[Any, Grant | None]:
    """(document, the user's grant in its community `community_of(document)`); (None, None) when it
    does not exist."""
    hint = cache.peek(key)
    if hint is None:
        doc = fetch()
        if doc is None:
            return None, None
        grant = community_grant(user, community_of(doc))
        cache.put(key, None, doc)  # read before the generation: a hint, not yet trusted
        return doc, grant
    grant = community_grant(user, community_of(hint[1]))
    return cache.resolve(key, grant.generation, fetch), grant


def access_community(user, community_id: object, *actions: Action):
    """Load a community the user may act on; raises NotFoundError, ForbiddenError."""
    from kraken.communities.models import Community
    community, grant = _in_community(_communities, str(community_id),
                                     lambda: Community.objects(id=community_id).first(), lambda c: c.id, user)
    if community is None:
        raise NotFoundError("Community not found")
    _deny(grant, actions)
    g.grant = grant
    return community


def can_see_channel(grant: Grant, channel, enter: bool) -> bool:
    """Public channels: every member. Private: the owner and channel members; holders of
    UPDATE_CHANNEL also see them to manage them, but cannot `enter` (read, join, talk)."""
    if not channel.is_private or grant.owner or str(channel.id) in grant.private_channels:
        return grant.owner or grant.member
    return not enter and grant.member and Action.UPDATE_CHANNEL.value in grant.actions


def access_channel(user, channel_id: object, *actions: Action, enter: bool = False):
    """Load a channel the user may act on; raises NotFoundError (missing or invisible), ForbiddenError."""
    from kraken.channels.models import Channel
    channel, grant = _in_community(_channels, str(channel_id), lambda: Channel.objects(id=channel_id).first(),
                                   lambda c: c.community_id, user)
    if channel is None:
        raise NotFoundError("Channel not found")
    if channel.is_private and not can_see_channel(grant, channel, enter):
        raise NotFoundError("Channel not found")
    _deny(grant, actions)
    g.grant = grant
    return channel


def current_grant() -> Grant:
    """The Grant computed by the last access_* call of this request."""
    return g.grant


def _resource_id(id_from: str, kwargs: dict[str, Any]) -> str:
    source, _, name = id_from.partition(".")
    if source == "path":
        value = kwargs.get(name)
    elif source == "body":
        from kraken.common.validation import request_json
        value = request_json().get(name)
    elif source == "query":
        value = request.args.get(name)
    else:  # pragma: no cover - a programming error, caught by any test of the route
        raise ValueError(f"bad id_from {id_from!r}")
    if value is None:
        raise ValidationError([f"{name}: field required"])
    try:
        return str(parse_object_id(value))
    except ValidationError:
        raise ValidationError([f"{name}: Invalid ObjectId"], code="INVALID_OBJECT_ID") from None


def require_actions(*actions: Action, resource: Resource, id_from: str | None = None, enter: bool = False):
    """Authenticate, resolve the resource named by `id_from` ("path.x", "body.x", "query.x") and
    check `actions` there. The loaded object is `g.resource`. Raises 400/401/403/404."""

    def decorator(fn: F) -> F:
        @require_auth
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user = current_user()
            if resource is Resource.INSTANCE:
                g.grant = require_instance_actions(user, *actions)
                g.resource = None
            else:
                rid = _resource_id(id_from, kwargs)
                if resource is Resource.COMMUNITY:
                    g.resource = access_community(user, rid, *actions)
                elif resource is Resource.CHANNEL:
                    g.resource = access_channel(user, rid, *actions, enter=enter)
                else:
                    from kraken.messages.access import access_message
                    g.resource = access_message(user, rid, *actions)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def authorized_resource():
    """The object loaded and authorised by `require_actions` for this request."""
    return g.resource
