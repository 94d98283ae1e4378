"""`/api/instance`: feature flags, the instance settings and statistics (kraken-head-features §12.3)."""
from __future__ import annotations

from flask import Blueprint

from kraken import extensions
from kraken.common.validation import parse_body
from kraken.instance import service
from kraken.instance.schemas import PublicSettingsOut, SettingsOut, SettingsPatch, StatsOut
from kraken.rbac import Action, Resource, require_actions

bp = Blueprint("instance", __name__, url_prefix="/api/instance")
INSTANCE = dict(resource=Resource.INSTANCE)


@bp.get("/features")
def get_features():
    settings = extensions.settings()
    return {
        "registration": {"OPEN": "open", "INVITE_ONLY": "invite", "CLOSED": "closed"}[service.registration_mode()],
        "communityCreation": settings.community_creation,
        "voice": settings.voice_enabled,
        "uploads": {"enabled": settings.uploads == "on", "maxBytes": settings.max_upload_bytes},
    }


@bp.get("/settings/public")
def get_public_settings():
    return PublicSettingsOut.of(service.get_settings())


@bp.get("/settings")
@require_actions(Action.READ_INSTANCE_SETTINGS, **INSTANCE)
def get_settings():
    return SettingsOut.of(service.get_settings())


@bp.patch("/settings")
@require_actions(Action.UPDATE_INSTANCE_SETTINGS, **INSTANCE)
def update_settings():
    body = parse_body(SettingsPatch)
    return SettingsOut.of(service.update_settings(body.changes()))


@bp.get("/stats")
@require_actions(Action.READ_INSTANCE_STATS, **INSTANCE)
def get_stats():
    return StatsOut(**service.stats()).model_dump()
