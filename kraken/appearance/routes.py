"""`/api/appearance-settings` (kraken-head-features §12.6): the caller's own; no events."""
from __future__ import annotations

from flask import Blueprint

from kraken.appearance import service
from kraken.appearance.schemas import AppearanceOut, AppearancePatch
from kraken.common.validation import parse_body
from kraken.rbac import current_user, require_auth

bp = Blueprint("appearance", __name__, url_prefix="/api/appearance-settings")


@bp.get("")
@require_auth
def get_appearance():
    return AppearanceOut.of(service.get(current_user()))


@bp.patch("")
@require_auth
def update_appearance():
    body = parse_body(AppearancePatch)
    return AppearanceOut.of(service.update(current_user(), body.model_dump(exclude_unset=True)))
