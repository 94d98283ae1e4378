"""Read-receipt routes (kraken-head-features §2). The client marks over the socket (`markAsRead`)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from kraken.common.validation import parse_body
from kraken.rbac import current_user, require_auth
from kraken.read_state import service
from kraken.read_state.schemas import MarkReadIn

bp = Blueprint("read_state", __name__, url_prefix="/api/read-receipts")


@bp.post("/mark-read")
@require_auth
def mark_read():
    return service.mark_read(current_user(), parse_body(MarkReadIn))


@bp.get("/unread-counts")
@require_auth
def unread_counts():
    return jsonify(service.unread_counts(current_user()))


@bp.get("/dm-peer-reads/<oid:group_id>")
@require_auth
def dm_peer_reads(group_id: str):
    return jsonify(service.dm_peer_reads(current_user(), group_id))
