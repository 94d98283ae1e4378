"""Community routes (contract §5.4; docs/decisions/0011-community-creation-and-deletion.md,
docs/decisions/0012-invites.md)."""
from __future__ import annotations

from flask import Blueprint

from kraken import extensions
from kraken.common.validation import parse_body
from kraken.communities import service
from kraken.communities.schemas import CommunityIn, CommunityOut, CommunityPatch
from kraken.invites import service as invites
from kraken.invites.schemas import CommunityInviteIn, InviteOut
from kraken.rbac import (Action, Resource, authorized_resource, current_user, require_actions, require_auth,
                         require_may_create_community)

bp = Blueprint("communities", __name__, url_prefix="/api/community")


@bp.post("")
@require_auth
def create_community():
    body = parse_body(CommunityIn)
    require_may_create_community(current_user(), extensions.settings().community_creation)
    community = service.create(current_user(), **body.model_dump())
    return CommunityOut.of(community), 201


@bp.get("")
@require_actions(Action.READ_ALL_COMMUNITIES, resource=Resource.INSTANCE)
def list_communities():
    return [CommunityOut.of(c) for c in service.all_communities()]


@bp.get("/mine")
@require_auth
def my_communities():
    return [CommunityOut.of(c) for c in service.mine(current_user())]


@bp.get("/<oid:community_id>")
@require_actions(Action.READ_COMMUNITY, resource=Resource.COMMUNITY, id_from="path.community_id")
def get_community(community_id: str):
    return CommunityOut.of(authorized_resource())


@bp.patch("/<oid:community_id>")
@require_actions(Action.UPDATE_COMMUNITY, resource=Resource.COMMUNITY, id_from="path.community_id")
def update_community(community_id: str):
    body = parse_body(CommunityPatch)
    return CommunityOut.of(service.update(authorized_resource(), body.model_dump(exclude_unset=True)))


@bp.delete("/<oid:community_id>")
@require_actions(Action.DELETE_COMMUNITY, resource=Resource.COMMUNITY, id_from="path.community_id")
def delete_community(community_id: str):
    service.delete(authorized_resource())
    return "", 204


@bp.get("/<oid:community_id>/invites")
@require_actions(Action.CREATE_INVITE, resource=Resource.COMMUNITY, id_from="path.community_id")
def list_community_invites(community_id: str):
    return [InviteOut.of(i) for i in invites.list_community_invites(authorized_resource().id)]


@bp.post("/<oid:community_id>/invites")
@require_actions(Action.CREATE_INVITE, resource=Resource.COMMUNITY, id_from="path.community_id")
def create_community_invite(community_id: str):
    body = parse_body(CommunityInviteIn)
    invite = invites.create_invite(created_by=current_user().id, max_uses=body.maxUses,
                                   valid_until=body.validUntil, community_ids=[authorized_resource().id],
                                   scope="COMMUNITY")
    return InviteOut.of(invite), 201
