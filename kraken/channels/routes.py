"""Channel routes (contract §5.5; docs/decisions/0010-private-channels.md,
docs/decisions/0011-community-creation-and-deletion.md)."""
from __future__ import annotations

from flask import Blueprint

from kraken.channels import service
from kraken.channels.schemas import ChannelIn, ChannelOut, ChannelPatch, MoveIn
from kraken.common.validation import parse_body
from kraken.rbac import (Action, Resource, authorized_resource, current_grant, current_user, require_actions)

bp = Blueprint("channels", __name__, url_prefix="/api/channels")


@bp.post("")
@require_actions(Action.CREATE_CHANNEL, resource=Resource.COMMUNITY, id_from="body.communityId")
def create_channel():
    body = parse_body(ChannelIn)
    channel = service.create(current_user(), authorized_resource().id, name=body.name, type=body.type,
                             is_private=body.isPrivate, description=body.description)
    return ChannelOut.of(channel), 201


@bp.get("/community/<oid:community_id>")
@require_actions(Action.READ_CHANNEL, resource=Resource.COMMUNITY, id_from="path.community_id")
def list_channels(community_id: str):
    return [ChannelOut.of(c) for c in service.visible_channels(authorized_resource().id, current_grant())]


@bp.get("/<oid:channel_id>")
@require_actions(Action.READ_CHANNEL, resource=Resource.CHANNEL, id_from="path.channel_id")
def get_channel(channel_id: str):
    return ChannelOut.of(authorized_resource())


@bp.patch("/<oid:channel_id>")
@require_actions(Action.UPDATE_CHANNEL, resource=Resource.CHANNEL, id_from="path.channel_id")
def update_channel(channel_id: str):
    body = parse_body(ChannelPatch)
    return ChannelOut.of(service.update(authorized_resource(), body.model_dump(exclude_unset=True)))


@bp.delete("/<oid:channel_id>")
@require_actions(Action.DELETE_CHANNEL, resource=Resource.CHANNEL, id_from="path.channel_id")
def delete_channel(channel_id: str):
    service.delete(authorized_resource())
    return "", 204


def _move(channel_id: str, step: int):
    parse_body(MoveIn)  # the community was authorised from it; the channel must be in it (else 404)
    channels, _swapped = service.move(authorized_resource().id, channel_id, step)
    return [ChannelOut.of(c) for c in service.visible_channels_of(channels, current_grant())]


@bp.post("/<oid:channel_id>/move-up")
@require_actions(Action.UPDATE_CHANNEL, resource=Resource.COMMUNITY, id_from="body.communityId")
def move_channel_up(channel_id: str):
    return _move(channel_id, -1)


@bp.post("/<oid:channel_id>/move-down")
@require_actions(Action.UPDATE_CHANNEL, resource=Resource.COMMUNITY, id_from="body.communityId")
def move_channel_down(channel_id: str):
    return _move(channel_id, +1)


@bp.get("/community/<oid:community_id>/mentionable")
@require_actions(Action.READ_CHANNEL, resource=Resource.COMMUNITY, id_from="path.community_id")
def mentionable_channels(community_id: str):
    return [ChannelOut.of(c) for c in service.mentionable(authorized_resource().id, current_grant())]
