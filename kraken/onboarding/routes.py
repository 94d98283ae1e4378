"""Onboarding routes (kraken-head-features §12.5): public."""
from __future__ import annotations

from flask import Blueprint

from kraken import ratelimits
from kraken.common.validation import parse_body
from kraken.errors import ValidationError
from kraken.onboarding import service
from kraken.onboarding.schemas import OnboardingStatusOut, SetupIn

bp = Blueprint("onboarding", __name__, url_prefix="/api/onboarding")
SETUP_TIERS = "2 per 1 second;5 per 1 minute"  # the reference's throttle: a wizard submits once


@bp.get("/status")
def get_status():
    return OnboardingStatusOut(**service.status()).model_dump(exclude_none=True)


@bp.post("/setup")
@ratelimits.limit(SETUP_TIERS, key_func=ratelimits.ip_key)
def setup():
    body = parse_body(SetupIn)
    if not body.setupToken:
        raise ValidationError("Setup token is required", code="SETUP_TOKEN_REQUIRED")
    return service.setup(token=body.setupToken, username=body.adminUsername, password=body.adminPassword,
                         email=body.adminEmail, instance_name=body.instanceName.strip(),
                         instance_description=body.instanceDescription, community_name=body.defaultCommunityName,
                         create_community=body.createDefaultCommunity)
