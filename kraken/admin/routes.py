"""`/api/users/admin/*` and `/api/community/admin/*` (kraken-head-features §12.1, §12.2): instance actions."""
from __future__ import annotations

from flask import Blueprint

from kraken.admin import service
from kraken.admin.schemas import (AdminCommunityOut, AdminCommunityQuery, AdminUserOut, AdminUserQuery, BanIn,
                                  RoleChangeIn)
from kraken.common.validation import parse_body, parse_query
from kraken.instance import service as instance
from kraken.rbac import Action, Resource, current_user, require_actions
from kraken.users.lookups import get_user

bp = Blueprint("admin", __name__, url_prefix="/api")
INSTANCE = dict(resource=Resource.INSTANCE)


def _out(user) -> dict:
    return AdminUserOut.of(user, instance.get_settings().default_storage_quota_bytes)


@bp.get("/users/admin/list")
@require_actions(Action.READ_USER, **INSTANCE)
def list_users():
    q = parse_query(AdminUserQuery)
    users, token = service.list_users(limit=q.limit, token=q.continuationToken, banned=q.banned, role=q.role,
                                      search=q.search)
    page = {"users": [_out(u) for u in users]}
    if token:
        page["continuationToken"] = token
    return page


@bp.get("/users/admin/<oid:user_id>")
@require_actions(Action.READ_USER, **INSTANCE)
def get_user_admin(user_id: str):
    return _out(get_user(user_id))


@bp.patch("/users/admin/<oid:user_id>/role")
@require_actions(Action.UPDATE_USER, **INSTANCE)
def change_role(user_id: str):
    body = parse_body(RoleChangeIn)
    return _out(service.change_role(current_user(), user_id, body.role))


@bp.patch("/users/admin/<oid:user_id>/ban")
@require_actions(Action.BAN_USER, **INSTANCE)
def ban_user(user_id: str):
    body = parse_body(BanIn)
    return _out(service.ban(current_user(), user_id, body.banned))


@bp.delete("/users/admin/<oid:user_id>")
@require_actions(Action.DELETE_USER, **INSTANCE)
def delete_user(user_id: str):
    service.delete_user(current_user(), user_id)
    return {"success": True}


@bp.get("/community/admin/list")
@require_actions(Action.READ_ALL_COMMUNITIES, **INSTANCE)
def list_communities():
    q = parse_query(AdminCommunityQuery)
    rows, token = service.list_communities(limit=q.limit, token=q.continuationToken, search=q.search)
    page = {"communities": [AdminCommunityOut.of(c, counts) for c, counts in rows]}
    if token:
        page["continuationToken"] = token
    return page


@bp.get("/community/admin/<oid:community_id>")
@require_actions(Action.READ_ALL_COMMUNITIES, **INSTANCE)
def get_community_admin(community_id: str):
    community, counts = service.community_with_counts(community_id)
    return AdminCommunityOut.of(community, counts)


@bp.delete("/community/admin/<oid:community_id>")
@require_actions(Action.DELETE_COMMUNITY, **INSTANCE)
def delete_community_admin(community_id: str):
    service.force_delete_community(community_id)
    return "", 204
