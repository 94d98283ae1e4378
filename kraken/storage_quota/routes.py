"""Storage routes (`/api/storage`, HF §12.4): JWT, then the instance action each view needs."""
from __future__ import annotations

from flask import Blueprint

from kraken.common.validation import parse_body, parse_query
from kraken.rbac import current_user, require_auth
from kraken.storage_quota import service
from kraken.storage_quota.schemas import QuotaIn, UsersQuery

bp = Blueprint("storage", __name__, url_prefix="/api/storage")


@bp.get("/my-usage")
@require_auth
def get_my_usage():
    return service.my_usage(current_user())


@bp.get("/instance")
@require_auth
def get_instance_usage():
    return service.instance_usage(current_user())


@bp.get("/users")
@require_auth
def list_user_usage():
    query = parse_query(UsersQuery)
    return service.list_usage(current_user(), query.skip, query.take, query.minPercentUsed)


@bp.get("/users/<oid:user_id>")
@require_auth
def get_user_usage(user_id: str):
    return service.user_usage(current_user(), user_id)


@bp.patch("/users/<oid:user_id>/quota")
@require_auth
def set_user_quota(user_id: str):
    body = parse_body(QuotaIn)
    return service.set_quota(current_user(), user_id, body.quotaBytes)


@bp.post("/users/<oid:user_id>/recalculate")
@require_auth
def recalculate_user_usage(user_id: str):
    return service.recalculate(current_user(), user_id), 201
