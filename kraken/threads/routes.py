"""Thread routes (kraken-head-features §1). Replies are sent over the socket (`sendThreadReply`)."""
from __future__ import annotations

from flask import Blueprint, Response

from kraken.common.validation import parse_query
from kraken.rbac import Action, Resource, authorized_resource, current_user, require_actions, require_auth
from kraken.threads import service
from kraken.threads.schemas import RepliesQuery

bp = Blueprint("threads", __name__, url_prefix="/api/threads")


@bp.get("/<oid:parent_message_id>/replies")
@require_auth
def thread_replies(parent_message_id: str):
    query = parse_query(RepliesQuery)
    items, token = service.replies(current_user(), parent_message_id, query.limit, query.continuationToken)
    # the items are ready JSON (kraken.messages.recent): join them rather than re-encode
    body = '{"replies":[' + ",".join(items) + "]" + (f',"continuationToken":"{token}"' if token else "") + "}"
    return Response(body, mimetype="application/json")


@bp.get("/<oid:parent_message_id>/metadata")
@require_actions(Action.READ_MESSAGE, resource=Resource.MESSAGE, id_from="path.parent_message_id")
def thread_metadata(parent_message_id: str):
    return service.metadata(current_user(), authorized_resource())


@bp.post("/<oid:parent_message_id>/subscribe")
@require_auth
def subscribe(parent_message_id: str):
    service.subscribe(current_user(), parent_message_id)
    return "", 204


@bp.delete("/<oid:parent_message_id>/subscribe")
@require_auth
def unsubscribe(parent_message_id: str):
    service.unsubscribe(current_user(), parent_message_id)
    return "", 204
