"""Moderation routes (kraken-later-endpoints §12, §13): every one answers the reference's
`{success, message}` unless it lists something. Pins live in their own feature."""
from __future__ import annotations

from flask import Blueprint

from kraken.common.validation import parse_body, parse_query
from kraken.moderation import service
from kraken.moderation.schemas import BanIn, LogsQuery, ReasonIn, TimeoutIn
from kraken.rbac import Action, Resource, authorized_resource, current_user, require_actions

bp = Blueprint("moderation", __name__, url_prefix="/api/moderation")
COMMUNITY = dict(resource=Resource.COMMUNITY, id_from="path.community_id")


def _done(message: str) -> dict:
    return {"success": True, "message": message}


@bp.post("/ban/<oid:community_id>/<oid:user_id>")
@require_actions(Action.BAN_USER, **COMMUNITY)
def ban_user(community_id: str, user_id: str):
    body = parse_body(BanIn)
    service.ban(current_user(), authorized_resource().id, user_id, body.reason, body.expiresAt)
    return _done("User banned successfully")


@bp.delete("/ban/<oid:community_id>/<oid:user_id>")
@require_actions(Action.UNBAN_USER, **COMMUNITY)
def unban_user(community_id: str, user_id: str):
    body = parse_body(ReasonIn)
    service.unban(current_user(), authorized_resource().id, user_id, body.reason)
    return _done("User unbanned successfully")


@bp.get("/bans/<oid:community_id>")
@require_actions(Action.VIEW_BAN_LIST, **COMMUNITY)
def list_bans(community_id: str):
    return service.bans(authorized_resource().id)


@bp.post("/kick/<oid:community_id>/<oid:user_id>")
@require_actions(Action.KICK_USER, **COMMUNITY)
def kick_user(community_id: str, user_id: str):
    body = parse_body(ReasonIn)
    service.kick(current_user(), authorized_resource().id, user_id, body.reason)
    return _done("User kicked successfully")


@bp.post("/timeout/<oid:community_id>/<oid:user_id>")
@require_actions(Action.TIMEOUT_USER, **COMMUNITY)
def timeout_user(community_id: str, user_id: str):
    body = parse_body(TimeoutIn)
    service.timeout(current_user(), authorized_resource().id, user_id, body.durationSeconds, body.reason)
    return _done("User timed out successfully")


@bp.delete("/timeout/<oid:community_id>/<oid:user_id>")
@require_actions(Action.TIMEOUT_USER, **COMMUNITY)
def remove_timeout(community_id: str, user_id: str):
    body = parse_body(ReasonIn)
    service.remove_timeout(current_user(), authorized_resource().id, user_id, body.reason)
    return _done("Timeout removed successfully")


@bp.get("/timeouts/<oid:community_id>")
@require_actions(Action.VIEW_BAN_LIST, **COMMUNITY)
def list_timeouts(community_id: str):
    return service.timeouts(authorized_resource().id)


@bp.get("/timeout-status/<oid:community_id>/<oid:user_id>")
@require_actions(Action.READ_MEMBER, **COMMUNITY)
def timeout_status(community_id: str, user_id: str):
    return service.timeout_status(authorized_resource().id, user_id)


@bp.delete("/message/<oid:message_id>")
@require_actions(Action.DELETE_ANY_MESSAGE, resource=Resource.MESSAGE, id_from="path.message_id")
def delete_message(message_id: str):
    body = parse_body(ReasonIn)
    service.delete_message(current_user(), authorized_resource(), body.reason)
    return _done("Message deleted successfully")


@bp.get("/logs/<oid:community_id>")
@require_actions(Action.VIEW_MODERATION_LOGS, **COMMUNITY)
def moderation_logs(community_id: str):
    query = parse_query(LogsQuery)
    return service.logs(authorized_resource().id, query.limit, query.offset, query.action)
