"""Channels: create, list (with private-channel visibility), update, delete with clean-up."""
from __future__ import annotations

from mongoengine import NotUniqueError

from kraken import dependents, domain, permcache
from kraken.channel_memberships import service as channel_memberships
from kraken.common import unique
from kraken.channel_memberships.models import ChannelMembership
from kraken.channels.models import Channel, ChannelEntry, community_channel_entries
from kraken.errors import ConflictError
from kraken.rbac import Grant, visible_channels as _visible

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
        channel = Channel(name=name, community_id=community_id, type=type,
                          is_private=is_private, description=description).save(force_insert=True)
    except NotUniqueError:
        raise _name_taken() from None
    if is_private:
        channel_memberships.give(channel, actor.id, added_by=actor.id)
    if announce:
        domain.channel_created.send(channel, actor_id=actor.id)
    return channel


def community_channels(community_id) -> list[Channel]:
    """All channels of a community, TEXT before VOICE, then by creation (this process's copy while the
    community's generation holds; shared copies, do not change them)."""
    return _lists.resolve(community_id, lambda: list(
        Channel.objects(community_id=community_id).order_by("type", "created_at")))


def communities_channels(community_ids: list) -> dict[str, list[Channel]]:
    """`community_channels` of several communities, by community id (str)."""
    return _lists.resolve_many(community_ids, lambda community_id: list(
        Channel.objects(community_id=community_id).order_by("type", "created_at")))


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
    fields = {"name": "name", "description": "description", "type": "type", "isPrivate": "is_private"}
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
