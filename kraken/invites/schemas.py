"""Invite request models and Invite JSON."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from kraken.common.ids import ObjectIdStr
from kraken.common.time import IsoDateTime, utcnow
from kraken.common.validation import RequestModel


class CommunityInviteIn(RequestModel):
    maxUses: int | None = Field(None, ge=1, le=100000, strict=True)
    validUntil: AwareDatetime | None = None

    @field_validator("validUntil")
    @classmethod
    def _future(cls, v: datetime | None) -> datetime | None:
        if v is not None:
            v = v.astimezone(timezone.utc)
            if v <= utcnow():
                raise ValueError("validUntil must be in the future")
        return v


class InviteIn(CommunityInviteIn):
    communityIds: list[ObjectIdStr] = Field(default_factory=list, max_length=50)


class InviteOut(BaseModel):
    id: str
    code: str
    scope: str
    createdById: str | None
    defaultCommunityId: list[str]
    maxUses: int | None
    uses: int
    validUntil: IsoDateTime | None
    createdAt: IsoDateTime
    usedByIds: list[str]
    disabled: bool

    @classmethod
    def of(cls, i) -> dict[str, Any]:
        return cls(id=str(i.id), code=i.code, scope=i.scope,
                   createdById=str(i.created_by_id) if i.created_by_id else None,
                   defaultCommunityId=[str(c) for c in i.community_ids], maxUses=i.max_uses, uses=i.uses,
                   validUntil=i.valid_until, createdAt=i.created_at, usedByIds=[str(u) for u in i.used_by_ids],
                   disabled=bool(i.disabled or i.exhausted)).model_dump(mode="json")


class PublicInviteOut(BaseModel):
    """What anyone holding a code may learn: whether it works and where it leads, no user ids."""

    code: str
    valid: bool
    validUntil: IsoDateTime | None
    communities: list[dict]


class RedeemOut(BaseModel):
    """The communities an existing user joined by redeeming an invite."""

    joinedCommunityIds: list[str]
