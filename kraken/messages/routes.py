"""Message routes (contract §5.6, docs/decisions/0013-one-send-path.md; reactions from the later versions)."""
from __future__ import annotations

from flask import Blueprint, Response

from kraken.common.validation import parse_body, parse_query
from kraken.messages import paging, service
from kraken.messages.schemas import (AroundQuery, AttachmentIn, HistoryQuery, MessageEditIn, MessageIn, ReactionIn,
                                     message_out)
from kraken.rbac import (Action, Resource, access_dm_group, authorized_resource, current_user, require_actions,
                         require_auth)

bp = Blueprint("messages", __name__, url_prefix="/api/messages")


@bp.post("")
@require_auth
def create_message():
    body = parse_body(MessageIn)
    return message_out(service.send(current_user(), body)), 201


def page_response(items: list[str], **tokens: str | None) -> Response:
    """`{messages, <token>?...}` from ready Message JSON strings (kraken.messages.paging): joined, not
    re-encoded; a token is left out when None."""
    extra = "".join(f',"{name}":"{value}"' for name, value in tokens.items() if value)
    return Response('{"messages":[' + ",".join(items) + "]" + extra + "}", mimetype="application/json")


@bp.get("/channel/<oid:channel_id>")
@require_actions(Action.READ_MESSAGE, resource=Resource.CHANNEL, id_from="path.channel_id", enter=True)
def channel_history(channel_id: str):
    query = parse_query(HistoryQuery)
    items, token = paging.page(authorized_resource().id, query.limit, query.continuationToken, query.direction)
    return page_response(items, continuationToken=token)


@bp.get("/channel/<oid:channel_id>/around/<oid:message_id>")
@require_actions(Action.READ_MESSAGE, resource=Resource.CHANNEL, id_from="path.channel_id", enter=True)
def channel_around(channel_id: str, message_id: str):
    query = parse_query(AroundQuery)
    items, older, newer = paging.around(authorized_resource().id, message_id, query.limit)
    return page_response(items, olderContinuationToken=older, newerContinuationToken=newer)


def group_page(group_id: str) -> Response:
    """A direct-message group's history, as a channel's: its members only (404 for anyone else)."""
    group = access_dm_group(current_user(), group_id)
    query = parse_query(HistoryQuery)
    items, token = paging.page(group.id, query.limit, query.continuationToken, query.direction)
    return page_response(items, continuationToken=token)


@bp.get("/group/<oid:group_id>")
@require_auth
def group_history(group_id: str):
    return group_page(group_id)


@bp.get("/group/<oid:group_id>/around/<oid:message_id>")
@require_auth
def group_around(group_id: str, message_id: str):
    group = access_dm_group(current_user(), group_id)
    query = parse_query(AroundQuery)
    items, older, newer = paging.around(group.id, message_id, query.limit)
    return page_response(items, olderContinuationToken=older, newerContinuationToken=newer)


@bp.post("/reactions")
@require_auth
def add_reaction():
    body = parse_body(ReactionIn)
    return message_out(service.react(current_user(), body.messageId, body.emoji, add=True)), 201


@bp.delete("/reactions")
@require_auth
def remove_reaction():
    body = parse_body(ReactionIn)
    return message_out(service.react(current_user(), body.messageId, body.emoji, add=False))


@bp.get("/<oid:message_id>")
@require_actions(Action.READ_MESSAGE, resource=Resource.MESSAGE, id_from="path.message_id")
def get_message(message_id: str):
    return message_out(authorized_resource())


@bp.patch("/<oid:message_id>")
@require_auth
def edit_message(message_id: str):
    body = parse_body(MessageEditIn)
    return message_out(service.edit(current_user(), message_id, body))


@bp.delete("/<oid:message_id>")
@require_auth
def delete_message(message_id: str):
    service.delete(current_user(), message_id)
    return "", 204


@bp.post("/<oid:message_id>/attachments")
@require_auth
def add_attachment(message_id: str):
    body = parse_body(AttachmentIn)
    return message_out(service.add_attachment(current_user(), message_id, body.fileId)), 201
