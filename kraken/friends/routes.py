"""Friends routes (`/api/friends`) and the user-block routes under `/api/users` (kraken-head-features §5):
authenticated, no RBAC; a caller acts only on their own rows (the service checks which side they are)."""
from __future__ import annotations

from flask import Blueprint

from kraken.friends import service
from kraken.friends.schemas import friend_out, friendship_out, friendship_with_users, public_user
from kraken.rbac import current_user, require_auth

bp = Blueprint("friends", __name__, url_prefix="/api/friends")
blocks_bp = Blueprint("user_blocks", __name__, url_prefix="/api/users")


@bp.get("")
@require_auth
def list_friends():
    return [friend_out(row, user) for row, user in service.friends(current_user())]


@bp.get("/requests")
@require_auth
def list_requests():
    sent, received, users = service.requests(current_user())
    return {"sent": [friendship_with_users(r, users) for r in sent if r.user_b_id in users],
            "received": [friendship_with_users(r, users) for r in received if r.user_a_id in users]}


@bp.get("/status/<oid:user_id>")
@require_auth
def friendship_status(user_id: str):
    return service.status(current_user(), user_id)


@bp.post("/request/<oid:user_id>")
@require_auth
def send_request(user_id: str):
    return friendship_out(service.request(current_user(), user_id)), 201


@bp.post("/accept/<oid:friendship_id>")
@require_auth
def accept_request(friendship_id: str):
    return friendship_out(service.accept(current_user(), friendship_id)), 201


@bp.delete("/decline/<oid:friendship_id>")
@require_auth
def decline_request(friendship_id: str):
    service.decline(current_user(), friendship_id)
    return {"success": True}


@bp.delete("/cancel/<oid:friendship_id>")
@require_auth
def cancel_request(friendship_id: str):
    service.cancel(current_user(), friendship_id)
    return {"success": True}


@bp.delete("/<oid:friendship_id>")
@require_auth
def remove_friend(friendship_id: str):
    service.remove(current_user(), friendship_id)
    return {"success": True}


@blocks_bp.post("/block/<oid:user_id>")
@require_auth
def block_user(user_id: str):
    service.block(current_user(), user_id)
    return {"success": True}, 201


@blocks_bp.delete("/block/<oid:user_id>")
@require_auth
def unblock_user(user_id: str):
    service.unblock(current_user(), user_id)
    return {"success": True}


@blocks_bp.get("/blocked")
@require_auth
def list_blocked():
    return [public_user(u) for u in service.blocked_users(current_user())]


@blocks_bp.get("/blocked/<oid:user_id>")
@require_auth
def block_status(user_id: str):
    return {"blocked": service.is_blocked(current_user(), user_id)}
