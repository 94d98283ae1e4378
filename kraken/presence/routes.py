"""Presence REST (docs/decisions/0015-presence.md): one user, a comma list of users, or every online user."""
from __future__ import annotations

from flask import Blueprint

from kraken.common.ids import parse_object_id
from kraken.errors import ValidationError
from kraken.presence import service
from kraken.rbac import require_auth

bp = Blueprint("presence", __name__, url_prefix="/api/presence")
MAX_IDS = 100


@bp.get("/user/<oid:user_id>")
@require_auth
def get_user_presence(user_id: str):
    return {"userId": user_id, "isOnline": service.is_online(user_id)}


@bp.get("/users/bulk")
@require_auth
def get_online_users():
    """Every online user, `{presence: {<userId>: true}}` (KLE §5). A static rule: Werkzeug matches it
    before `/users/<ids>`, whatever the order they are declared in."""
    return {"presence": dict.fromkeys(service.online_users(), True)}


@bp.get("/users/<ids>")
@require_auth
def get_users_presence(ids: str):
    user_ids = [i.strip() for i in ids.split(",") if i.strip()]
    if not user_ids or len(user_ids) > MAX_IDS:
        raise ValidationError([f"userIds: between 1 and {MAX_IDS} comma-separated ids"])
    return {"presence": {str(parse_object_id(i)): service.is_online(i) for i in dict.fromkeys(user_ids)}}
