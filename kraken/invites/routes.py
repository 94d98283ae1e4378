"""Invite routes (contract §5.10, docs/decisions/0012-invites.md)."""
from __future__ import annotations

from bson import ObjectId
from flask import Blueprint, Response

from kraken import ratelimits
from kraken.common.lookups import by_ids
from kraken.common.validation import parse_body
from kraken.communities.models import Community
from kraken.errors import KrakenError
from kraken.invites import service
from kraken.invites.schemas import InviteIn, InviteOut, PublicInviteOut
from kraken.rbac import (Action, Resource, access_invite_to_delete, current_user, require_actions, require_auth,
                         require_may_invite)

bp = Blueprint("invites", __name__, url_prefix="/api/invite")
CODE = "<string(maxlength=64):code>"


@bp.post("")
@require_auth
def create_invite():
    body = parse_body(InviteIn)
    community_ids = [ObjectId(c) for c in dict.fromkeys(body.communityIds)]
    scope = require_may_invite(current_user(), community_ids)
    invite = service.create_invite(created_by=current_user().id, max_uses=body.maxUses,
                                   valid_until=body.validUntil, community_ids=community_ids, scope=scope)
    return InviteOut.of(invite), 201


@bp.get("")
@require_actions(Action.READ_INSTANCE_INVITE, resource=Resource.INSTANCE)
def list_invites():
    return [InviteOut.of(i) for i in service.list_instance_invites()]


@bp.get(f"/public/{CODE}")
@ratelimits.limit("5 per 1 second;20 per 1 minute", key_func=ratelimits.ip_key)
def get_public_invite(code: str):
    invite = service.get_invite(code)
    try:
        service.get_valid_invite(code)
        valid = True
    except KrakenError:
        valid = False
    communities = [{"id": str(c.id), "name": c.name} for c in by_ids(Community, invite.community_ids)]
    return PublicInviteOut(code=invite.code, valid=valid, validUntil=invite.valid_until,
                           communities=communities).model_dump(mode="json")


@bp.get(f"/{CODE}")
@require_actions(Action.READ_INSTANCE_INVITE, resource=Resource.INSTANCE)
def get_invite(code: str):
    """Any invite by its code, in any state; an unknown code is an empty 200 (kraken-later-endpoints §4)."""
    invite = service.find_invite(code)
    if invite is None:  # NestJS's answer to a null: 200 and no body
        return Response(b"", status=200, mimetype="text/plain")
    return InviteOut.of(invite)


@bp.delete(f"/{CODE}")
@require_auth
def delete_invite(code: str):
    return InviteOut.of(service.disable(access_invite_to_delete(current_user(), code)))


@bp.post(f"/{CODE}/redeem")
@require_auth
def redeem_invite(code: str):
    joined = service.redeem_existing_user(code, current_user())
    return {"joinedCommunityIds": joined}
