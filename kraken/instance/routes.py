"""`GET /api/instance/features`: what this instance allows, for clients to adapt their UI."""
from __future__ import annotations

from flask import Blueprint

from kraken import extensions

bp = Blueprint("instance", __name__, url_prefix="/api/instance")


@bp.get("/features")
def get_features():
    settings = extensions.settings()
    return {
        "registration": settings.registration,
        "communityCreation": settings.community_creation,
        "voice": settings.voice_enabled,
        "uploads": {"enabled": settings.uploads == "on", "maxBytes": settings.max_upload_bytes},
    }
