"""Channel-membership routes (contract §5.8): private channels only."""
from __future__ import annotations

from flask import Blueprint

from kraken.channel_memberships import service
from kraken.channel_memberships.schemas import ChannelMembershipIn, channel_membership_out, with_users
from kraken.common.validation import parse_body
from kraken.rbac import (Action, Resource, access_channel, authorized_resource, current_user, require_actions,
                         require_auth, visible_channel_memberships)

bp = Blueprint("channel_memberships", __name__, url_prefix="/api/channel-membership")
CHANNEL = dict(resource=Resource.CHANNEL, id_from="path.channel_id")


@bp.post("")
@require_actions(Action.CREATE_MEMBER, resource=Resource.CHANNEL, id_from="body.channelId")
def create_channel_membership():
    body = parse_body(ChannelMembershipIn)
    membership = service.add(authorized_resource(), body.userId, added_by=current_user().id)
    return channel_membership_out(membership), 201


@bp.get("/channel/<oid:channel_id>")
@require_actions(Action.READ_MEMBER, **CHANNEL)
def list_channel_members(channel_id: str):
    return with_users(service.members(authorized_resource()))


@bp.get("/my")
@require_auth
def my_channel_memberships():
    return [channel_membership_out(m) for m in service.of_user(current_user().id)]


@bp.get("/user/<oid:user_id>")
@require_auth
def user_channel_memberships(user_id: str):
    """The user themself sees all; others see channels they can see in communities where they hold READ_MEMBER."""
    memberships = service.of_user(user_id)
    visible = visible_channel_memberships(current_user(), user_id,
                                          [(m.community_id, m.channel_id) for m in memberships])
    return [channel_membership_out(m) for m in memberships if str(m.channel_id) in visible]


@bp.get("/channel/<oid:channel_id>/user/<oid:user_id>")
@require_actions(Action.READ_MEMBER, **CHANNEL)
def get_channel_membership(channel_id: str, user_id: str):
    return channel_membership_out(service.get(authorized_resource(), user_id))


@bp.delete("/channel/<oid:channel_id>/user/<oid:user_id>")
@require_actions(Action.DELETE_MEMBER, **CHANNEL)
def remove_channel_member(channel_id: str, user_id: str):
    service.remove(authorized_resource(), user_id)
    return "", 204


@bp.delete("/leave/<oid:channel_id>")
@require_auth
def leave_channel(channel_id: str):
    channel = access_channel(current_user(), channel_id)
    service.remove(channel, str(current_user().id))
    return "", 204
