"""Membership routes (contract §5.7, docs/decisions/0034-memberships.md)."""
from __future__ import annotations

from flask import Blueprint

from kraken.common.validation import parse_body, parse_query
from kraken.memberships import service
from kraken.memberships.schemas import MembershipIn, MembershipOut, MemberSearchQuery, with_users
from kraken.rbac import (Action, Resource, authorized_resource, current_user, require_actions, require_auth,
                         visible_memberships)

bp = Blueprint("memberships", __name__, url_prefix="/api/membership")
COMMUNITY = dict(resource=Resource.COMMUNITY, id_from="path.community_id")


@bp.post("")
@require_actions(Action.CREATE_MEMBER, resource=Resource.COMMUNITY, id_from="body.communityId")
def create_membership():
    body = parse_body(MembershipIn)
    return MembershipOut.of(service.add_member(body.userId, authorized_resource().id)), 201


@bp.get("/community/<oid:community_id>")
@require_actions(Action.READ_MEMBER, **COMMUNITY)
def list_members(community_id: str):
    return with_users(service.members(authorized_resource().id))


@bp.get("/community/<oid:community_id>/search")
@require_actions(Action.READ_MEMBER, **COMMUNITY)
def search_members(community_id: str):
    query = parse_query(MemberSearchQuery)
    return [MembershipOut.of(m, user) for m, user in service.search(authorized_resource().id, query.query,
                                                                     query.limit)]


@bp.get("/my")
@require_auth
def my_memberships():
    return [MembershipOut.of(m) for m in service.of_user(current_user().id)]


@bp.get("/user/<oid:user_id>")
@require_auth
def user_memberships(user_id: str):
    """The user themself sees all; others see the shared communities where they hold READ_MEMBER."""
    memberships = service.of_user(user_id)
    visible = visible_memberships(current_user(), user_id, [m.community_id for m in memberships])
    return [MembershipOut.of(m) for m in memberships if str(m.community_id) in visible]


@bp.get("/community/<oid:community_id>/user/<oid:user_id>")
@require_actions(Action.READ_MEMBER, **COMMUNITY)
def get_membership(community_id: str, user_id: str):
    return MembershipOut.of(service.get(authorized_resource().id, user_id))


@bp.delete("/community/<oid:community_id>/user/<oid:user_id>")
@require_actions(Action.DELETE_MEMBER, **COMMUNITY)
def remove_member(community_id: str, user_id: str):
    service.remove(authorized_resource().id, user_id)
    return "", 204


@bp.delete("/leave/<oid:community_id>")
@require_auth
def leave_community(community_id: str):
    service.remove(community_id, str(current_user().id))
    return "", 204
