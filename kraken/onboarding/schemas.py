"""Onboarding bodies (kraken-head-features §12.5)."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, EmailStr, Field, StrictBool, StrictStr, field_validator

from kraken.common.validation import RequestModel
from kraken.users.schemas import Password, normalise_username


def _admin_username(value: str) -> str:
    value = normalise_username(value)
    if len(value) < 3:
        raise ValueError("adminUsername must be 3-32 characters")
    return value


class OnboardingStatusOut(BaseModel):
    """`GET /api/onboarding/status`: the web client's start-up check (public)."""

    needsSetup: bool
    hasUsers: bool
    setupToken: str | None = None


class SetupIn(RequestModel):
    adminUsername: Annotated[StrictStr, AfterValidator(_admin_username)]
    adminPassword: Password
    adminEmail: EmailStr | None = Field(None, max_length=254)
    instanceName: StrictStr = Field(min_length=1, max_length=100)
    instanceDescription: StrictStr | None = Field(None, max_length=500)
    defaultCommunityName: StrictStr | None = Field(None, min_length=1, max_length=100)
    createDefaultCommunity: StrictBool = True
    setupToken: StrictStr | None = Field(None, max_length=100)

    @field_validator("adminEmail", mode="before")
    @classmethod
    def _blank_email(cls, v: Any) -> Any:
        return None if v == "" else v


class SetupOut(BaseModel):
    success: bool
    message: str
    adminUserId: str
    defaultCommunityId: str | None = None
