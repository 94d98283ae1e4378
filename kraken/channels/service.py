"""Channels: create, list (with private-channel visibility), update, delete with clean-up."""
from __future__ import annotations

from mongoengine import NotUniqueError

from kraken import permcache
from kraken.channels.models import Channel
from kraken.errors import ConflictError
from kraken.localcache import StampedCache
from kraken.rbac import Grant, can_see_channel

# Deleting a channel removes what lives in it; features with per-channel data register here.
CHANNEL_CLEANUPS: list = []
# Each community's channels, trusted while its generation is unchanged (every channel write bumps it).
_lists: StampedCache = StampedCache(4096)


def _name_taken() -> ConflictError:
    return ConflictError("Channel with this name already exists in the community", code="CHANNEL_NAME_TAKEN")


def create(actor, community_id, *, name: str, type: str, is_private: bool, description: str | None) -> Channel:
    """Create a channel; the creator of a private channel becomes its member. Sockets that may enter
    it join its room and hear `channelCreated`. Raises ConflictError."""
    from kraken.channel_memberships import service as channel_memberships
    from kraken.realtime import subscriptions
    try:
        channel = Channel(name=name, community_id=community_id, type=type,
                          is_private=is_private, description=description).save(force_insert=True)
    except NotUniqueError:
        raise _name_taken() from None
    permcache.invalidate(str(community_id))
    if is_private:
        channel_memberships.give(channel, actor.id, added_by=actor.id)
    subscriptions.channel_created(channel, actor.id)
    return channel


def community_channels(community_id, generation: str | None) -> list[Channel]:
    """All channels of a community, TEXT before VOICE, then by creation. `generation`: the community's
    cache generation read before this call (Grant.generation); shared copies, do not change them."""
    return _lists.resolve(str(community_id), generation, lambda: list(
        Channel.objects(community_id=community_id).order_by("type", "created_at")))


def visible_channels(community_id, grant: Grant) -> list[Channel]:
    """The community's channels this grant may see: TEXT before VOICE, then by creation."""
    return [c for c in community_channels(community_id, grant.generation)
            if not c.is_private or can_see_channel(grant, c, enter=False)]


def update(channel: Channel, changes: dict) -> Channel:
    """Apply name/description/type/isPrivate changes (`channelUpdated`; a privacy change moves
    sockets); raises ConflictError on a name clash."""
    from kraken.realtime import subscriptions
    was_private = bool(channel.is_private)
    fields = {"name": "name", "description": "description", "type": "type", "isPrivate": "is_private"}
    update = {f"set__{fields[k]}": v for k, v in changes.items() if v is not None}
    if "description" in changes and changes["description"] is None:
        update["unset__description"] = 1
    if update:
        try:
            Channel.objects(id=channel.id).update_one(**update)
        except NotUniqueError:
            raise _name_taken() from None
        permcache.invalidate(str(channel.community_id))
        channel.reload()
        subscriptions.channel_updated(channel, was_private)
    return channel


def delete(channel: Channel) -> None:
    """Delete a channel and everything in it; members' sockets are told (`channelDeleted`) and leave its room."""
    from kraken.channel_memberships.models import ChannelMembership
    from kraken.realtime import subscriptions
    for cleanup in CHANNEL_CLEANUPS:
        cleanup([channel.id])
    ChannelMembership.objects(channel_id=channel.id).delete()
    channel.delete()
    permcache.invalidate(str(channel.community_id))
    subscriptions.channel_deleted(channel.community_id, channel.id)
