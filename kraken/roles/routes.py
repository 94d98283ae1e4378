"""Role routes (contract §5.9; management paths of the later versions,
docs/decisions/0009-actions-and-default-roles.md)."""
from __future__ import annotations

from flask import Blueprint

from kraken.common.validation import parse_body
from kraken.rbac import (Action, Resource, authorized_resource, current_grant, current_user, require_actions,
                         require_auth, visible_channel)
from kraken.roles import service
from kraken.roles.schemas import AssignIn, InstanceAssignIn, RoleIn, RoleOut, RolePatch, user_roles_out

bp = Blueprint("roles", __name__, url_prefix="/api/roles")
COMMUNITY = dict(resource=Resource.COMMUNITY, id_from="path.community_id")


@bp.get("/my/community/<oid:community_id>")
@require_auth
def my_community_roles(community_id: str):
    user = current_user()
    return user_roles_out(user.id, community_id, "COMMUNITY", service.my_roles(user, community_id))


@bp.get("/my/channel/<oid:channel_id>")
@require_auth
def my_channel_roles(channel_id: str):
    user = current_user()
    channel = visible_channel(user, channel_id)
    roles = service.roles_of(user.id, channel.community_id) if channel is not None else []
    return user_roles_out(user.id, channel_id, "CHANNEL", roles)


@bp.get("/my/instance")
@require_auth
def my_instance_roles():
    user = current_user()
    return user_roles_out(user.id, None, "INSTANCE", service.roles_of(user.id, None))


@bp.get("/user/<oid:user_id>/community/<oid:community_id>")
@require_actions(Action.READ_MEMBER, **COMMUNITY)
def user_community_roles(user_id: str, community_id: str):
    return user_roles_out(user_id, community_id, "COMMUNITY", service.roles_of(user_id, community_id))


@bp.get("/user/<oid:user_id>/channel/<oid:channel_id>")
@require_actions(Action.READ_MEMBER, resource=Resource.CHANNEL, id_from="path.channel_id")
def user_channel_roles(user_id: str, channel_id: str):
    channel = authorized_resource()
    return user_roles_out(user_id, channel_id, "CHANNEL", service.roles_of(user_id, channel.community_id))


@bp.get("/user/<oid:user_id>/instance")
@require_actions(Action.READ_USER, resource=Resource.INSTANCE)
def user_instance_roles(user_id: str):
    return user_roles_out(user_id, None, "INSTANCE", service.roles_of(user_id, None))


@bp.get("/community/<oid:community_id>")
@require_actions(Action.READ_ROLE, **COMMUNITY)
def list_community_roles(community_id: str):
    roles = service.list_roles(community_id)
    return {"communityId": community_id, "roles": [RoleOut.of(r) for r in roles]}


@bp.post("/community/<oid:community_id>")
@require_actions(Action.CREATE_ROLE, **COMMUNITY)
def create_role(community_id: str):
    body = parse_body(RoleIn)
    role = service.create_role(current_user(), current_grant(), authorized_resource().id, body.name,
                               [a.value for a in body.actions])
    return RoleOut.of(role), 201


@bp.put("/community/<oid:community_id>/<oid:role_id>")
@require_actions(Action.UPDATE_ROLE, **COMMUNITY)
def update_role(community_id: str, role_id: str):
    body = parse_body(RolePatch)
    actions = [a.value for a in body.actions] if body.actions is not None else None
    role = service.update_role(current_user(), current_grant(), authorized_resource().id, role_id, body.name,
                               actions)
    return RoleOut.of(role)


@bp.delete("/community/<oid:community_id>/<oid:role_id>")
@require_actions(Action.DELETE_ROLE, **COMMUNITY)
def delete_role(community_id: str, role_id: str):
    service.delete_role(authorized_resource().id, role_id)
    return "", 204


@bp.post("/community/<oid:community_id>/reset-defaults")
@require_actions(Action.UPDATE_ROLE, **COMMUNITY)
def reset_default_roles(community_id: str):
    roles = service.reset_defaults(current_user(), current_grant(), authorized_resource().id)
    return {"communityId": community_id, "roles": [RoleOut.of(r) for r in roles]}


@bp.post("/community/<oid:community_id>/assign")
@require_actions(Action.UPDATE_MEMBER, **COMMUNITY)
def assign_role(community_id: str):
    body = parse_body(AssignIn)
    service.assign(current_user(), current_grant(), authorized_resource().id, body.userId, body.roleId)
    return "", 204


@bp.delete("/community/<oid:community_id>/users/<oid:user_id>/roles/<oid:role_id>")
@require_actions(Action.UPDATE_MEMBER, **COMMUNITY)
def unassign_role(community_id: str, user_id: str, role_id: str):
    service.unassign(current_user(), current_grant(), authorized_resource().id, user_id, role_id)
    return "", 204


@bp.get("/community/<oid:community_id>/<oid:role_id>/users")
@require_actions(Action.READ_ROLE, **COMMUNITY)
def role_users(community_id: str, role_id: str):
    return service.role_holders(authorized_resource().id, role_id)


@bp.get("/instance/all")
@require_actions(Action.READ_INSTANCE_SETTINGS, resource=Resource.INSTANCE)
def list_instance_roles():
    return [RoleOut.of(r) for r in service.instance_roles()]


@bp.post("/instance")
@require_actions(Action.UPDATE_INSTANCE_SETTINGS, resource=Resource.INSTANCE)
def create_instance_role():
    body = parse_body(RoleIn)
    return RoleOut.of(service.create_instance_role(current_user(), body.name, [a.value for a in body.actions])), 201


@bp.put("/instance/<oid:role_id>")
@require_actions(Action.UPDATE_INSTANCE_SETTINGS, resource=Resource.INSTANCE)
def update_instance_role(role_id: str):
    body = parse_body(RolePatch)
    actions = [a.value for a in body.actions] if body.actions is not None else None
    return RoleOut.of(service.update_instance_role(current_user(), role_id, body.name, actions))


@bp.delete("/instance/<oid:role_id>")
@require_actions(Action.UPDATE_INSTANCE_SETTINGS, resource=Resource.INSTANCE)
def delete_instance_role(role_id: str):
    service.delete_instance_role(current_user(), role_id)
    return "", 204


@bp.post("/instance/<oid:role_id>/assign")
@require_actions(Action.UPDATE_USER, resource=Resource.INSTANCE)
def assign_instance_role(role_id: str):
    body = parse_body(InstanceAssignIn)
    service.assign_instance(role_id, body.userId, actor=current_user())
    return "", 204


@bp.delete("/instance/<oid:role_id>/users/<oid:user_id>")
@require_actions(Action.UPDATE_USER, resource=Resource.INSTANCE)
def unassign_instance_role(role_id: str, user_id: str):
    service.unassign_instance(role_id, user_id, actor=current_user())
    return "", 204


@bp.get("/instance/<oid:role_id>/users")
@require_actions(Action.READ_USER, resource=Resource.INSTANCE)
def instance_role_users(role_id: str):
    return service.instance_role_holders(role_id)
