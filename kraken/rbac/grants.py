"""What one user may do in one scope: a community (membership, actions, private channels) or the
instance. Answers are cached per scope by kraken.permcache; the instance OWNER holds every action."""
from __future__ import annotations

from dataclasses import dataclass, field

from kraken import permcache
from kraken.channel_memberships.models import ChannelMembership
from kraken.common.lookups import by_ids
from kraken.common.permissions import ALL_ACTIONS, Action, InstanceRole
from kraken.memberships.models import Membership
from kraken.moderation.models import timeout_until
from kraken.roles.models import Role, UserRole


def is_owner(user) -> bool:
    return user.role == InstanceRole.OWNER.value


def _value(action: Action | str) -> str:
    return str(getattr(action, "value", action))


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
    # when the user's timeout in the community ends (epoch seconds), if they have one: checked against
    # the clock at each use, so it ends exactly then (docs/decisions/0053-moderation.md)
    timed_out_until: float | None = field(default=None, compare=False)

    def has(self, *actions: Action | str) -> bool:
        return self.owner or all(_value(a) in self.actions for a in actions)

    def missing(self, actions) -> list[str]:
        return [] if self.owner else sorted(_value(a) for a in actions if _value(a) not in self.actions)


def _compute_community(user_id: str, community_id: str) -> dict:
    if not Membership.objects(user_id=user_id, community_id=community_id).count():
        return {"member": False, "actions": [], "channels": [], "roles": []}
    role_ids = list(UserRole.objects(user_id=user_id, community_id=community_id).scalar("role_id"))
    actions = set()
    for role_actions in by_ids(Role, role_ids, "actions"):
        actions.update(role_actions)
    channels = [str(c) for c in ChannelMembership.objects(user_id=user_id, community_id=community_id)
                .scalar("channel_id")]
    until = timeout_until(community_id, user_id)
    return {"member": True, "actions": sorted(actions), "channels": channels, "roles": [str(r) for r in role_ids],
            "timeout": until.timestamp() if until is not None else None}


def _compute_instance(user_id: str) -> dict:
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
                 role_ids=frozenset(data["roles"]) if "roles" in data else None,
                 timed_out_until=data.get("timeout"))


def instance_grant(user) -> Grant:
    uid = str(user.id)
    data, _ = permcache.cached(permcache.INSTANCE_SCOPE, uid, lambda: _compute_instance(uid))
    owner = is_owner(user)
    return Grant(owner=owner, member=True, actions=ALL_ACTIONS if owner else frozenset(data["actions"]))


def enterable_channels(user) -> dict[str, frozenset[str] | None]:
    """Each community the user is a member of, with the private channels they may enter there
    (None: all of them, for the instance owner). Entering asks for membership alone, never for an
    action (`can_see_channel(..., enter=True)`), so this is two equality queries whatever the number
    of communities: what `subscribeAll` joins, also right after a cache flush. Filter a community's
    channels with `may_enter(channel, private)`."""
    # as_pymongo: plain dicts, no document built per row (a user in 20 communities and their DM
    # groups cost ~3 ms of a request as MongoEngine documents)
    communities = [str(d["communityId"]) for d in
                   Membership.objects(user_id=user.id).only("community_id").as_pymongo()]
    if is_owner(user):
        return dict.fromkeys(communities)
    private: dict[str, set[str]] = {c: set() for c in communities}
    for d in ChannelMembership.objects(user_id=user.id).only("community_id", "channel_id").as_pymongo():
        private.get(str(d["communityId"]), set()).add(str(d["channelId"]))
    return {c: frozenset(ids) for c, ids in private.items()}
