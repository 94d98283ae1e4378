"""Direct-message routes (kraken-later-endpoints §14)."""
from __future__ import annotations

from flask import Blueprint

from kraken.common.validation import parse_body
from kraken.direct_messages import service
from kraken.direct_messages.schemas import GroupCreateIn, MembersAddIn
from kraken.messages.routes import group_page
from kraken.rbac import current_user, require_auth

bp = Blueprint("direct_messages", __name__, url_prefix="/api/direct-messages")


@bp.get("")
@require_auth
def list_groups():
    return service.mine(current_user())


@bp.post("")
@require_auth
def create_group():
    return service.create(current_user(), parse_body(GroupCreateIn)), 201


@bp.get("/<oid:group_id>")
@require_auth
def get_group(group_id: str):
    return service.get(current_user(), group_id)


@bp.get("/<oid:group_id>/messages")
@require_auth
def group_messages(group_id: str):
    """The same pages as `GET /api/messages/group/:id` (the web client uses that one)."""
    return group_page(group_id)


@bp.post("/<oid:group_id>/members")
@require_auth
def add_members(group_id: str):
    body = parse_body(MembersAddIn)
    return service.add_members(current_user(), group_id, body.userIds)


@bp.delete("/<oid:group_id>/members/me")
@require_auth
def leave_group(group_id: str):
    service.leave(current_user(), group_id)
    return "", 204
