"""Onboarding response bodies."""
from __future__ import annotations

from pydantic import BaseModel


class OnboardingStatusOut(BaseModel):
    """`GET /api/onboarding/status`: the web client's start-up check (public)."""

    needsSetup: bool
    hasUsers: bool
