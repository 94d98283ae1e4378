"""Loaders: `access_*` load a community, channel or message, check membership and actions, and raise
the same NotFoundError for objects that are missing and objects the caller may not see (private
channels). Each records the caller's Grant for the request (`current_grant`)."""
from __future__ import annotations

from typing import Any, Iterable

from flask import g

from kraken.channel_memberships.models import ChannelMembership
from kraken.channels.models import Channel
from kraken.common.permissions import Action, InstanceRole
from kraken.communities.models import Community
from kraken.direct_messages.models import DirectMessageGroup, DirectMessageMembership, membership_key
from kraken.errors import ForbiddenError, NotFoundError
from kraken.extensions import socketio
from kraken.localcache import StampedCache
from kraken.memberships.models import Membership
from kraken.messages.models import Message
from kraken.rbac.grants import Grant, community_grant, instance_grant
from kraken.realtime.rooms import channel_room, dm_room
from kraken.roles.models import Role, UserRole
from kraken.users.models import User


def deny(grant: Grant, actions) -> None:
    """Raises ForbiddenError: NOT_A_MEMBER outside the community, else the missing actions."""
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


def require_community_actions(user, community_id: object, *actions: Action) -> Grant:
    """The user's grant in a community once they are a member holding `actions`; raises ForbiddenError."""
    grant = community_grant(user, community_id)
    deny(grant, actions)
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
    community, grant = _in_community(_communities, str(community_id),
                                     lambda: Community.objects(id=community_id).first(), lambda c: c.id, user)
    if community is None:
        raise NotFoundError("Community not found")
    deny(grant, actions)
    g.grant = grant
    return community


def can_see_channel(grant: Grant, channel, enter: bool) -> bool:
    """Public channels: every member. Private: the owner and channel members; holders of
    UPDATE_CHANNEL also see them to manage them, but cannot `enter` (read, join, talk)."""
    if not channel.is_private or grant.owner or str(channel.id) in grant.private_channels:
        return grant.owner or grant.member
    return not enter and grant.member and Action.UPDATE_CHANNEL.value in grant.actions


def visible_channels(grant: Grant, channels: Iterable, enter: bool = False) -> list:
    """Those of one community's `channels` the holder of `grant` sees (`enter`: may enter), in order."""
    return [c for c in channels if can_see_channel(grant, c, enter)]


def admits(grant: Grant) -> bool:
    """Whether the holder of `grant` is inside its community at all (a member, or the owner)."""
    return grant.owner or grant.member


def private_channel_entrants(channel) -> set[str]:
    """Ids of the users who may enter a private channel: its members and the instance owners who
    are members of its community."""
    # plain rows: a channel may have thousands of members (a notification fan-out reads them all)
    members = {str(d["userId"]) for d in ChannelMembership._get_collection().find(
        {"channelId": channel.id}, {"userId": 1, "_id": 0})}
    owners = User.objects(role=InstanceRole.OWNER.value).scalar("id")  # indexed: a handful of users
    return members | {str(u) for u in owners if Membership.objects(community_id=channel.community_id,
                                                                   user_id=u).count()}


def private_channel_viewers(channel) -> set[str]:
    """Ids of the users who see a private channel (`can_see_channel`, not entering): its entrants and
    the community's members holding UPDATE_CHANNEL through a role (a community has a handful of roles:
    its roles are one equality, each holder list another)."""
    managing = [r.id for r in Role.objects(community_id=channel.community_id).only("id", "actions")
                if Action.UPDATE_CHANNEL.value in (r.actions or ())]
    holders = {str(u) for role_id in managing for u in UserRole.objects(role_id=role_id).scalar("user_id")}
    return private_channel_entrants(channel) | holders


def require_private_channel(channel) -> None:
    """Only private channels have members to manage; raises ForbiddenError (PUBLIC_CHANNEL)."""
    if not channel.is_private:
        raise ForbiddenError("Public channels have no member list: every community member can use them",
                             code="PUBLIC_CHANNEL")


def require_may_join_private_channel(user_id: object, channel) -> None:
    """Only members of the channel's community may be added to it; raises ForbiddenError (NOT_A_MEMBER)."""
    if not Membership.objects(user_id=user_id, community_id=channel.community_id).count():
        raise ForbiddenError("User must be a member of the community before being added to a private channel",
                             code="NOT_A_MEMBER")


def may_enter(channel, private: frozenset[str] | None) -> bool:
    """Whether a member may enter `channel`, given their entry of `enterable_channels` for its community."""
    return not channel.is_private or private is None or str(channel.id) in private


def _channel_access(user, channel_id: object, actions, enter: bool):
    channel, grant = _in_community(_channels, str(channel_id), lambda: Channel.objects(id=channel_id).first(),
                                   lambda c: c.community_id, user)
    if channel is None or (channel.is_private and not can_see_channel(grant, channel, enter)):
        raise NotFoundError("Channel not found")
    deny(grant, actions)
    g.grant = grant
    return channel, grant


def access_channel(user, channel_id: object, *actions: Action, enter: bool = False):
    """Load a channel the user may act on; raises NotFoundError (missing or invisible), ForbiddenError."""
    return _channel_access(user, channel_id, actions, enter)[0]


def visible_channel(user, channel_id: object):
    """The channel if the user sees it (a member; private ones as `can_see_channel`), else None."""
    channel, grant = _in_community(_channels, str(channel_id), lambda: Channel.objects(id=channel_id).first(),
                                   lambda c: c.community_id, user)
    return channel if channel is not None and can_see_channel(grant, channel, enter=False) else None


def message_access(user, message_id: object, *actions: Action):
    """(message, its channel, the grant there) if its channel is one the user may enter and they hold
    `actions` in its community. Raises NotFoundError (missing, or in a channel they cannot see),
    ForbiddenError."""
    message = Message.objects(id=message_id).first()
    if message is None:
        raise NotFoundError("Message not found")
    if message.direct_message_group_id is not None:
        # a direct message: membership of its group is the only permission (kraken-later-endpoints §0)
        if not is_dm_member(user.id, message.direct_message_group_id):
            raise NotFoundError("Message not found")
        return message, None, None
    channel, grant = _channel_access(user, message.channel_id, actions, enter=True)
    return message, channel, grant


def access_message(user, message_id: object, *actions: Action):
    """The message, if its channel is readable by `user` and they hold `actions` in its community.
    Raises NotFoundError (missing, or in a channel they cannot see), ForbiddenError."""
    return message_access(user, message_id, *actions)[0]


def is_dm_member(user_id: object, group_id: object) -> bool:
    """Whether the user is a member of the direct-message group (one `_id` look-up)."""
    return DirectMessageMembership.objects(id=membership_key(group_id, user_id)).count() > 0


def access_dm_group(user, group_id: object):
    """Load a direct-message group of which `user` is a member. Membership is the only permission, also
    for the instance owner (docs/decisions/0047-direct-messages.md). Raises NotFoundError (missing or
    not a member: a stranger learns nothing)."""
    if not is_dm_member(user.id, group_id):
        raise NotFoundError("Direct message group not found")
    group = DirectMessageGroup.objects(id=group_id).first()
    if group is None:
        raise NotFoundError("Direct message group not found")
    return group


def require_socket_in_channel(sid: str, channel_id: object) -> str:
    """The channel's room, if the socket `sid` is in it: it was authorised when it joined, and
    leaves it when it loses access (kraken.realtime.subscriptions). Typing asks this instead of the
    store. Raises NotFoundError, as for a channel the caller cannot see."""
    room = channel_room(channel_id)
    if room not in socketio.server.rooms(sid, namespace="/"):
        raise NotFoundError("Channel not found")
    return room


def require_socket_in_dm(sid: str, group_id: object) -> str:
    """A direct-message group's room, if the socket `sid` is in it (it joined as a member and leaves
    when it leaves). Raises NotFoundError, as for a group the caller is not a member of."""
    room = dm_room(group_id)
    if room not in socketio.server.rooms(sid, namespace="/"):
        raise NotFoundError("Direct message group not found")
    return room


def current_grant() -> Grant:
    """The Grant computed by the last access_* call of this request."""
    return g.grant
