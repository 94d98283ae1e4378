"""Admin request models and bodies (kraken-head-features §12.1, §12.2)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from kraken.common.ids import ObjectIdStr
from kraken.common.time import IsoDateTime
from kraken.common.validation import RequestModel


class AdminUserQuery(RequestModel):
    limit: int = Field(50, ge=1, le=100)
    continuationToken: ObjectIdStr | None = None
    banned: Literal["true", "false"] | None = None
    role: Literal["OWNER", "USER"] | None = None
    search: StrictStr | None = Field(None, max_length=100)


class RoleChangeIn(RequestModel):
    role: Literal["OWNER", "USER"]


class BanIn(RequestModel):
    banned: StrictBool


class AdminCommunityQuery(RequestModel):
    limit: int = Field(50, ge=1, le=1000)
    continuationToken: ObjectIdStr | None = None
    search: StrictStr | None = Field(None, max_length=100)


class AdminUserOut(BaseModel):
    id: str
    username: str
    email: str | None
    verified: bool
    role: str
    createdAt: IsoDateTime
    avatarUrl: str | None
    bannerUrl: str | None
    lastSeen: IsoDateTime | None
    displayName: str | None
    bio: str | None
    status: str | None
    statusUpdatedAt: IsoDateTime | None
    banned: bool
    bannedAt: IsoDateTime | None
    bannedById: str | None
    storageQuotaBytes: int
    storageUsedBytes: int

    @classmethod
    def of(cls, u, default_quota: int) -> dict[str, Any]:
        return cls(id=str(u.id), username=u.username, email=u.email, verified=bool(u.verified), role=u.role,
                   createdAt=u.created_at, avatarUrl=u.avatar_url, bannerUrl=getattr(u, "banner_url", None),
                   lastSeen=u.last_seen, displayName=u.display_name, bio=u.bio, status=u.status,
                   statusUpdatedAt=getattr(u, "status_updated_at", None), banned=bool(u.disabled),
                   bannedAt=u.banned_at, bannedById=str(u.banned_by_id) if u.banned_by_id else None,
                   storageQuotaBytes=getattr(u, "storage_quota_bytes", None) or default_quota,
                   storageUsedBytes=getattr(u, "storage_used_bytes", None) or 0).model_dump(mode="json")


class AdminUserPageOut(BaseModel):
    users: list[AdminUserOut]
    continuationToken: str | None = None


class AdminCommunityOut(BaseModel):
    id: str
    name: str
    description: str | None
    avatar: str | None
    banner: str | None
    createdAt: IsoDateTime
    memberCount: int
    channelCount: int
    messageCount: int | None = None

    @classmethod
    def of(cls, c, counts: dict[str, int]) -> dict[str, Any]:
        out = cls(id=str(c.id), name=c.name, description=c.description, avatar=c.avatar, banner=c.banner,
                  createdAt=c.created_at, **counts).model_dump(mode="json")
        if out["messageCount"] is None:
            del out["messageCount"]
        return out


class AdminCommunityPageOut(BaseModel):
    communities: list[AdminCommunityOut]
    continuationToken: str | None = None


class SuccessOut(BaseModel):
    success: bool
