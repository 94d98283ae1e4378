"""Onboarding routes (kraken-head-features §12.5): public."""
from __future__ import annotations

from flask import Blueprint

from kraken.onboarding import service
from kraken.onboarding.schemas import OnboardingStatusOut

bp = Blueprint("onboarding", __name__, url_prefix="/api/onboarding")


@bp.get("/status")
def get_status():
    return OnboardingStatusOut(**service.status()).model_dump()
