"""Alias-group routes (kraken-head-features §6; docs/decisions/0061-alias-groups.md)."""
from __future__ import annotations

from flask import Blueprint

from kraken.alias_groups import service
from kraken.alias_groups.schemas import AliasGroupIn, AliasGroupRenameIn, AliasMemberIn, AliasMembersIn
from kraken.common.validation import parse_body
from kraken.rbac import Action, Resource, authorized_resource, require_actions

bp = Blueprint("alias_groups", __name__, url_prefix="/api/alias-groups")
COMMUNITY = dict(resource=Resource.COMMUNITY, id_from="path.community_id")
GROUP = dict(resource=Resource.ALIAS_GROUP, id_from="path.group_id")


@bp.get("/community/<oid:community_id>")
@require_actions(Action.READ_ALIAS_GROUP, **COMMUNITY)
def list_groups(community_id: str):
    return service.list_groups(authorized_resource().id)


@bp.post("/community/<oid:community_id>")
@require_actions(Action.CREATE_ALIAS_GROUP, **COMMUNITY)
def create_group(community_id: str):
    body = parse_body(AliasGroupIn)
    return service.create(authorized_resource().id, body.name, body.memberIds), 201


@bp.get("/<oid:group_id>")
@require_actions(Action.READ_ALIAS_GROUP, **GROUP)
def get_group(group_id: str):
    return service.view(authorized_resource())


@bp.put("/<oid:group_id>")
@require_actions(Action.UPDATE_ALIAS_GROUP, **GROUP)
def rename_group(group_id: str):
    return service.rename(authorized_resource(), parse_body(AliasGroupRenameIn).name)


@bp.delete("/<oid:group_id>")
@require_actions(Action.DELETE_ALIAS_GROUP, **GROUP)
def delete_group(group_id: str):
    service.delete(authorized_resource())
    return "", 204


@bp.post("/<oid:group_id>/members")
@require_actions(Action.CREATE_ALIAS_GROUP_MEMBER, **GROUP)
def add_member(group_id: str):
    service.add_member(authorized_resource(), parse_body(AliasMemberIn).userId)
    return "", 204


@bp.delete("/<oid:group_id>/members/<oid:user_id>")
@require_actions(Action.DELETE_ALIAS_GROUP_MEMBER, **GROUP)
def remove_member(group_id: str, user_id: str):
    service.remove_member(authorized_resource(), user_id)
    return "", 204


@bp.put("/<oid:group_id>/members")
@require_actions(Action.UPDATE_ALIAS_GROUP_MEMBER, **GROUP)
def replace_members(group_id: str):
    service.replace_members(authorized_resource(), parse_body(AliasMembersIn).memberIds)
    return "", 204
