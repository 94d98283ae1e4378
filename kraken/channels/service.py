"""Channels: create, list (with private-channel visibility), update, delete with clean-up."""
from __future__ import annotations

from contextlib import contextmanager

from mongoengine import NotUniqueError

from kraken import dependents, domain, permcache
from kraken.channel_memberships import service as channel_memberships
from kraken.common import unique
from kraken.channel_memberships.models import ChannelMembership
from kraken.channels.models import (Channel, ChannelEntry, LeaseTimeout, channel_order,
                                    community_channel_entries)
from kraken.channels.schemas import ChannelOut
from kraken.errors import ConflictError, NotFoundError, ServiceUnavailableError
from kraken.rbac import Grant, visible_channels as _visible
from kraken.realtime import names
from kraken.realtime.publish import publish
from kraken.realtime.rooms import community_room

# Each community's channels, trusted while its generation is unchanged (every channel write bumps it).
_lists = permcache.Copies(4096)
# Each community's channel index (ids, which are private), trusted the same way.
_entries = permcache.Copies(4096)


def _name_taken() -> ConflictError:
    return ConflictError("Channel with this name already exists in the community", code="CHANNEL_NAME_TAKEN")


def create(actor, community_id, *, name: str, type: str, is_private: bool, description: str | None,
           announce: bool = True) -> Channel:
    """Create a channel; the creator of a private channel becomes its member. Sockets that may enter
    it join its room and those who may see it hear `channelCreated` (not with `announce=False`: community
    creation, whose rooms the creator joins afterwards). Raises ConflictError."""
    try:
        with _order_held(community_id):
            # last of its type: max(position) + 1, under the order's lease so two creations differ
            last = max((c.position or 0 for c in _stored_channels(community_id) if c.type == type), default=-1)
            channel = Channel(name=name, community_id=community_id, type=type, is_private=is_private,
                              description=description, position=last + 1).save(force_insert=True)
    except NotUniqueError:
        raise _name_taken() from None
    if is_private:
        channel_memberships.give(channel, actor.id, added_by=actor.id)
    if announce:
        domain.channel_created.send(channel, actor_id=actor.id)
    return channel


MAX_LISTED = 500  # channels in a community's list (kraken-later-endpoints §8)


def _list_order(channel) -> tuple:
    return channel.type, channel.position or 0, channel.created_at, channel.id


def _stored_channels(community_id) -> list[Channel]:
    """A community's channels as stored now, in list order: TEXT before VOICE, then position, then
    creation (sorted here: a sort is not an index look-up on the default store)."""
    return sorted(Channel.objects(community_id=community_id), key=_list_order)[:MAX_LISTED]


def community_channels(community_id) -> list[Channel]:
    """All channels of a community in list order (TEXT before VOICE, position, creation): this
    process's copy while the community's generation holds (shared copies, do not change them)."""
    return _lists.resolve(community_id, lambda: _stored_channels(community_id))


def communities_channels(community_ids: list) -> dict[str, list[Channel]]:
    """`community_channels` of several communities, by community id (str)."""
    return _lists.resolve_many(community_ids, _stored_channels)


def communities_channel_entries(community_ids: list) -> dict[str, tuple[ChannelEntry, ...]]:
    """Each community's channels as its channel index knows them (id, private), by community id (str):
    one document per community, not one per channel (what `subscribeAll` needs)."""
    return _entries.resolve_many(community_ids, community_channel_entries)


def visible_channels(community_id, grant: Grant) -> list[Channel]:
    """The community's channels this grant may see: TEXT before VOICE, then by creation."""
    return _visible(grant, community_channels(community_id))


def update(channel: Channel, changes: dict) -> Channel:
    """Apply name/description/type/isPrivate changes (`channelUpdated`; a privacy change moves
    sockets); raises ConflictError on a name clash."""
    was_private = bool(channel.is_private)
    fields = {"name": "name", "description": "description", "type": "type", "isPrivate": "is_private",
              "position": "position"}  # a position is written as given (renumbered by the next move)
    update = {f"set__{fields[k]}": v for k, v in changes.items() if v is not None}
    if "description" in changes and changes["description"] is None:
        update["unset__description"] = 1
    if update:
        try:
            unique.update_one(Channel.objects(id=channel.id), **update)
        except NotUniqueError:
            raise _name_taken() from None
        dependents.wrote(channel)
        channel.reload()
        domain.channel_updated.send(channel, was_private=was_private)
    return channel


def delete(channel: Channel) -> None:
    """Delete a channel and everything in it; members' sockets are told (`channelDeleted`) and leave its room."""
    domain.channels_removing.send(channel.community_id, channel_ids=[channel.id])
    ChannelMembership.objects(channel_id=channel.id).delete()
    channel.delete()
    dependents.wrote(channel, ChannelMembership, community_id=channel.community_id)
    domain.channel_deleted.send(channel.community_id, channel_id=channel.id)


@contextmanager
def _order_held(community_id):
    try:
        with channel_order(community_id):
            yield
    except LeaseTimeout:
        raise ServiceUnavailableError("The channel order is busy; retry") from None


def _renumber(channels: list[Channel]) -> list[tuple[Channel, int]]:
    """(channel, new position) for every channel whose place in 0..n-1 of its type (in list order)
    differs from its stored position: duplicates, gaps and positions written raw are settled."""
    changes, by_type = [], {}
    for channel in channels:
        by_type.setdefault(channel.type, []).append(channel)
    for of_type in by_type.values():
        for place, channel in enumerate(of_type):
            if channel.position != place:
                changes.append((channel, place))
    return changes


def move(community_id, channel_id: str, step: int) -> tuple[list[Channel], bool]:
    """Swap a channel with its neighbour of the same type (step -1: up, +1: down), after settling the
    type's positions to 0..n-1, under the community's channel-order lease (no transaction: one
    mover at a time, decision 0056). Returns (the community's channels in list order as they are
    after the move, whether a swap happened); `channelsReordered` to the community's room when one
    did. Raises NotFoundError (no such channel in this community), ServiceUnavailableError."""
    with _order_held(community_id):
        channels = _stored_channels(community_id)
        target = next((c for c in channels if str(c.id) == str(channel_id)), None)
        if target is None:
            raise NotFoundError("Channel not found")
        changes = dict((c.id, place) for c, place in _renumber(channels))
        of_type = [c for c in channels if c.type == target.type]
        index = of_type.index(target)
        swapped = 0 <= index + step < len(of_type)
        if swapped:
            other = of_type[index + step]
            changes[target.id], changes[other.id] = index + step, index
        for channel in channels:
            if channel.id in changes and changes[channel.id] != channel.position:
                Channel.objects(id=channel.id).update_one(set__position=changes[channel.id])
        if any(changes[c.id] != c.position for c in channels if c.id in changes):
            dependents.wrote(Channel, community_id=channels[0].community_id)
        after = _stored_channels(community_id)
    if swapped:
        publish(names.CHANNELS_REORDERED, {"communityId": str(community_id),
                                           "channels": [ChannelOut.of(c) for c in after if not c.is_private]},
                community_room(community_id))
    return after, swapped


def visible_channels_of(channels: list[Channel], grant: Grant) -> list[Channel]:
    """Those of `channels` (one community's) the grant sees, in their order."""
    return _visible(grant, channels)


def mentionable(community_id, grant: Grant) -> list[Channel]:
    """The channels of a community the grant may enter (public ones, private ones it is a member of),
    by name (kraken-head-features §8)."""
    channels = _visible(grant, community_channels(community_id), enter=True)
    return sorted(channels, key=lambda c: (c.name.casefold(), c.name, str(c.id)))
