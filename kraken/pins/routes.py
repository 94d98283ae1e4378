"""Pin routes (kraken-later-endpoints §12; docs/decisions/0055-pins.md)."""
from __future__ import annotations

from flask import Blueprint

from kraken.common.validation import parse_body
from kraken.pins import service
from kraken.pins.schemas import PinIn, pinned_out
from kraken.rbac import current_user, require_auth

bp = Blueprint("pins", __name__, url_prefix="/api/moderation")


@bp.post("/pin/<oid:message_id>")
@require_auth
def pin_message(message_id: str):
    body = parse_body(PinIn)
    service.pin(current_user(), message_id, body.reason)
    return {"success": True, "message": "Message pinned successfully"}


@bp.delete("/pin/<oid:message_id>")
@require_auth
def unpin_message(message_id: str):
    body = parse_body(PinIn)
    service.unpin(current_user(), message_id, body.reason)
    return {"success": True, "message": "Message unpinned successfully"}


@bp.get("/pins/<oid:channel_id>")
@require_auth
def list_pins(channel_id: str):
    return [pinned_out(message, author) for message, author in service.pins(current_user(), channel_id)]
