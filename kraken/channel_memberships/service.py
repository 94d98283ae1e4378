"""Private-channel membership: add, list, remove, leave."""
from __future__ import annotations

from bson import ObjectId
from mongoengine import NotUniqueError

from kraken import dependents, domain
from kraken.channel_memberships.models import ChannelMembership
from kraken.errors import ConflictError, NotFoundError
from kraken.rbac import require_may_join_private_channel, require_private_channel
from kraken.users.models import User


def add(channel, user_id: str, added_by: ObjectId) -> ChannelMembership:
    """Add a community member to a private channel (their sockets join its room); raises 403, 404, 409."""
    require_private_channel(channel)
    if not User.objects(id=user_id).count():
        raise NotFoundError("User or channel not found")
    require_may_join_private_channel(user_id, channel)
    try:
        membership = ChannelMembership(user_id=ObjectId(user_id), channel_id=channel.id,
                                       community_id=channel.community_id, added_by=added_by).save(force_insert=True)
    except NotUniqueError:
        raise ConflictError("User is already a member of this channel") from None
    domain.channel_access_granted.send(channel, user_id=membership.user_id)
    return membership


def give(channel, user_id: ObjectId, added_by: ObjectId | None = None) -> None:
    """Creation paths: make `user_id` a member of `channel` without checks (idempotent)."""
    try:
        ChannelMembership(user_id=user_id, channel_id=channel.id, community_id=channel.community_id,
                          added_by=added_by).save(force_insert=True)
    except NotUniqueError:
        pass


def members(channel) -> list[ChannelMembership]:
    require_private_channel(channel)
    return list(ChannelMembership.objects(channel_id=channel.id).order_by("joined_at"))


def get(channel, user_id: str) -> ChannelMembership:
    membership = ChannelMembership.objects(channel_id=channel.id, user_id=user_id).first()
    if membership is None:
        raise NotFoundError("Channel membership not found")
    return membership


def of_user(user_id: object) -> list[ChannelMembership]:
    return list(ChannelMembership.objects(user_id=user_id).order_by("joined_at"))


def remove(channel, user_id: str) -> None:
    """Remove a user from a private channel (their sockets leave its room); raises 403 (public), 404."""
    require_private_channel(channel)
    membership = get(channel, user_id)
    membership.delete()
    dependents.wrote(membership)
    domain.channel_access_revoked.send(channel, user_id=membership.user_id)
