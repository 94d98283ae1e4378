"""Server-driven rooms: the one place that says which rooms a membership change moves sockets
into or out of (kraken-later-endpoints §11, kraken-head-features §7).

The current web client emits `subscribeAll` once per connect and never joins a room itself, so
every later change (a community joined, created or left, a private channel's member added or
removed, a channel created, made private or deleted) moves the user's sockets here, on every
process, through the queue (`publish.move_sockets`): all of a user's sockets are in their user
room, a community's in its community room. The a169fe1 client's `joinAll`/`joinRoom` use the
same room lists (`community_rooms`).

Each function reacts to a domain event (kraken.domain), sent by a service after its write
succeeded; `init_app` connects them (called by create_app).
"""
from __future__ import annotations

from typing import Iterable

from kraken import domain
from kraken.channels.schemas import ChannelOut
from kraken.channels.service import communities_channel_entries, community_channels
from kraken.memberships.models import Membership
from kraken.rbac import (Grant, admits, community_grant, enterable_channels, may_enter, private_channel_entrants,
                         private_channel_viewers, visible_channels)
from kraken.realtime import names
from kraken.realtime.publish import move_sockets, publish
from kraken.realtime.rooms import alias_room, channel_room, community_room, dm_room, user_room
from kraken.alias_groups.lookups import group_ids_of
from kraken.direct_messages.models import DirectMessageMembership
from kraken.users.models import User


def community_rooms(user, community_id: object, grant: Grant | None = None) -> list[str]:
    """The rooms a user's sockets belong in for one community: its room and every channel the
    user may enter (public ones; private ones they are a member of, or all for the owner)."""
    grant = grant or community_grant(user, community_id)
    if not admits(grant):
        return []
    return [community_room(community_id)] + [
        channel_room(c.id) for c in visible_channels(grant, community_channels(community_id),
                                                     enter=True)]


def all_community_rooms(user) -> list[str]:
    """Every room of every community the user is a member of (`subscribeAll`): the same rooms as
    `community_rooms` for each, from two membership queries and each community's channel index (one
    document: ids and which are private; a per-process copy while its generation holds)."""
    enterable = enterable_channels(user)
    lists = communities_channel_entries(list(enterable))
    rooms = []
    for community_id, private in enterable.items():
        rooms.append(community_room(community_id))
        rooms += [channel_room(c.id) for c in lists[str(community_id)]
                  if may_enter(c, private)]
    return rooms


def all_dm_rooms(user) -> list[str]:
    """The rooms of every direct-message group the user is a member of (one indexed equality)."""
    return [dm_room(g) for g in DirectMessageMembership.objects(user_id=user.id).scalar("group_id")]


def dm_members_added(group_id: object, *, user_ids: Iterable[object]) -> None:
    """New members of a direct-message group (a new group's included): their sockets join `dm:<id>`."""
    for user_id in user_ids:
        move_sockets(user_room(user_id), join=[dm_room(group_id)])


def dm_member_left(group_id: object, *, user_id: object) -> None:
    """A member who left a direct-message group: their sockets leave `dm:<id>`."""
    move_sockets(user_room(user_id), leave=[dm_room(group_id)])


def all_alias_rooms(user) -> list[str]:
    """The rooms of every alias group the user is a member of (one indexed equality)."""
    return [alias_room(g) for g in group_ids_of(user.id)]


def alias_members_added(group_id: object, *, user_ids: Iterable[object]) -> None:
    """New members of an alias group: their sockets join its room (kraken-head-features §6)."""
    for user_id in user_ids:
        move_sockets(user_room(user_id), join=[alias_room(group_id)])


def alias_members_removed(group_id: object, *, user_ids: Iterable[object]) -> None:
    """Members taken out of an alias group (or out of its community): their sockets leave its room."""
    for user_id in user_ids:
        move_sockets(user_room(user_id), leave=[alias_room(group_id)])


def alias_group_deleted(group_id: object) -> None:
    """A deleted alias group: its room empties."""
    room = alias_room(group_id)
    move_sockets(room, leave=[room])


def member_joined(community_id: object, *, user_id: object, announce: bool = True) -> None:
    """A new member's sockets join the community's rooms; `memberAddedToCommunity` tells them
    (not sent for the creator of a community: `announce=False`)."""
    user = User.objects(id=user_id).first()
    if user is None:
        return
    move_sockets(user_room(user_id), join=community_rooms(user, community_id))
    if announce:
        publish(names.MEMBER_ADDED_TO_COMMUNITY, {"communityId": str(community_id), "userId": str(user_id)},
                user_room(user_id))


def member_left(community_id: object, *, user_id: object, channel_ids: Iterable[object]) -> None:
    """A member who left or was removed: their sockets leave the community's room and every
    channel room of it, at once, on every process."""
    move_sockets(user_room(user_id), leave=[community_room(community_id), *map(channel_room, channel_ids)])


def _private_channel_audience(channel) -> list[str]:
    """Who hears of a private channel (docs/decisions/0057-lifecycle-events.md): its room (members and
    owners, who may enter it) and the user rooms of the holders of UPDATE_CHANNEL, who see it in lists
    without entering it (decision 0010); one emit to all of them, each socket gets it once."""
    entrants = private_channel_entrants(channel)
    return [channel_room(channel.id)] + sorted(user_room(u) for u in private_channel_viewers(channel) - entrants)


def channel_created(channel, *, actor_id: object) -> None:
    """A public channel: every socket in the community room joins it, then the community hears
    `channelCreated`. A private one: its creator (its only member) and the instance owners among
    the members join it, and only those who may see it hear of it (non-members must not learn it
    exists)."""
    payload = {"communityId": str(channel.community_id), "channel": ChannelOut.of(channel)}
    if channel.is_private:
        for user_id in {str(actor_id), *private_channel_entrants(channel)}:
            move_sockets(user_room(user_id), join=[channel_room(channel.id)])
        publish(names.CHANNEL_CREATED, payload, _private_channel_audience(channel))
    else:
        move_sockets(community_room(channel.community_id), join=[channel_room(channel.id)])
        publish(names.CHANNEL_CREATED, payload, community_room(channel.community_id))


def channel_updated(channel, *, was_private: bool) -> None:
    """`channelUpdated`; a channel made private keeps only its members' (and owners') sockets,
    one made public gains every community member's."""
    room = channel_room(channel.id)
    if channel.is_private and not was_private:
        move_sockets(room, leave=[room])
        for user_id in private_channel_entrants(channel):
            move_sockets(user_room(user_id), join=[room])
    elif was_private and not channel.is_private:
        move_sockets(community_room(channel.community_id), join=[room])
    payload = {"communityId": str(channel.community_id), "channel": ChannelOut.of(channel)}
    publish(names.CHANNEL_UPDATED, payload,
            _private_channel_audience(channel) if channel.is_private else community_room(channel.community_id))


def channel_deleted(community_id: object, *, channel_id: object) -> None:
    """`channelDeleted` to the channel's and the community's rooms, then the channel room empties."""
    room = channel_room(channel_id)
    publish(names.CHANNEL_DELETED, {"communityId": str(community_id), "channelId": str(channel_id)},
            [room, community_room(community_id)])
    move_sockets(room, leave=[room])


def channel_access_granted(channel, *, user_id: object) -> None:
    """A new member of a private channel: their sockets join its room."""
    move_sockets(user_room(user_id), join=[channel_room(channel.id)])


def channel_access_revoked(channel, *, user_id: object) -> None:
    """Removed from a private channel: their sockets leave its room."""
    move_sockets(user_room(user_id), leave=[channel_room(channel.id)])


def community_deleted(community_id: object, *, channel_ids: Iterable[object]) -> None:
    """`communityDeleted` to the community's room, then it and its channel rooms empty."""
    publish(names.COMMUNITY_DELETED, {"communityId": str(community_id)}, community_room(community_id))
    for room in (community_room(community_id), *map(channel_room, channel_ids)):
        move_sockets(room, leave=[room])


def community_updated(community) -> None:
    """`communityUpdated` to the community's room (kraken-head-features §7)."""
    publish(names.COMMUNITY_UPDATED, {"communityId": str(community.id), "name": community.name,
                                      "description": community.description, "avatar": community.avatar,
                                      "banner": community.banner}, community_room(community.id))


def role_created(role) -> None:
    publish(names.ROLE_CREATED, {"communityId": str(role.community_id), "roleId": str(role.id),
                                 "roleName": role.name}, community_room(role.community_id))


def role_updated(role) -> None:
    publish(names.ROLE_UPDATED, {"communityId": str(role.community_id), "roleId": str(role.id),
                                 "roleName": role.name}, community_room(role.community_id))


def role_deleted(community_id: object, *, role_id: object) -> None:
    publish(names.ROLE_DELETED, {"communityId": str(community_id), "roleId": str(role_id)},
            community_room(community_id))


def role_assigned(role, *, user_id: object) -> None:
    publish(names.ROLE_ASSIGNED, {"communityId": str(role.community_id), "userId": str(user_id),
                                  "roleId": str(role.id), "roleName": role.name}, community_room(role.community_id))


def role_unassigned(role, *, user_id: object) -> None:
    publish(names.ROLE_UNASSIGNED, {"communityId": str(role.community_id), "userId": str(user_id),
                                    "roleId": str(role.id)}, community_room(role.community_id))


def profile_updated(user) -> None:
    """`userProfileUpdated` to the user's room and each of their communities' rooms in ONE emit
    (one queue message whatever the number of communities; a socket in several of the rooms gets it
    once): the communities are one indexed equality on memberships."""
    communities = Membership.objects(user_id=user.id).scalar("community_id")
    publish(names.USER_PROFILE_UPDATED, {"userId": str(user.id), "displayName": user.display_name,
                                         "avatarUrl": user.avatar_url, "bannerUrl": None, "bio": user.bio},
            [user_room(user.id), *map(community_room, communities)])


def init_app() -> None:
    for signal, receiver in ((domain.member_joined, member_joined), (domain.member_left, member_left),
                             (domain.channel_created, channel_created), (domain.channel_updated, channel_updated),
                             (domain.channel_deleted, channel_deleted),
                             (domain.channel_access_granted, channel_access_granted),
                             (domain.channel_access_revoked, channel_access_revoked),
                             (domain.community_deleted, community_deleted),
                             (domain.dm_members_added, dm_members_added), (domain.dm_member_left, dm_member_left),
                             (domain.alias_members_added, alias_members_added),
                             (domain.alias_members_removed, alias_members_removed),
                             (domain.alias_group_deleted, alias_group_deleted),
                             (domain.community_updated, community_updated), (domain.role_created, role_created),
                             (domain.role_updated, role_updated), (domain.role_deleted, role_deleted),
                             (domain.role_assigned, role_assigned), (domain.role_unassigned, role_unassigned),
                             (domain.profile_updated, profile_updated)):
        domain.connect(signal, receiver)
