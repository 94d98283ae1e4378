"""Auth request models and responses."""
from __future__ import annotations

from pydantic import BaseModel, Field, StrictStr

from kraken.auth.devices import device_name
from kraken.common.time import iso
from kraken.common.validation import RequestModel


class LoginIn(RequestModel):
    # Strict strings: `{"$ne": null}` and friends are a 400, never a query.
    username: StrictStr = Field(min_length=1, max_length=64)
    password: StrictStr = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    accessToken: str


class MessageOut(BaseModel):
    message: str


def session_out(family, current: str | None) -> dict:
    """One row of `GET /api/auth/sessions` (HF §11); `id` is the session's (refresh family's) id."""
    return {"id": str(family.id), "deviceName": device_name(family.user_agent),
            "ipAddress": family.ip_address or None, "createdAt": iso(family.created_at),
            "lastUsedAt": iso(family.last_used_at or family.created_at), "expiresAt": iso(family.expires_at),
            "isCurrent": str(family.id) == current}


class SessionOut(BaseModel):
    """One session (a refresh family) on the sessions page (HF §11)."""

    id: str
    deviceName: str
    ipAddress: str | None
    createdAt: str
    lastUsedAt: str
    expiresAt: str
    isCurrent: bool


class RevokedOut(BaseModel):
    message: str
    revokedCount: int
