"""Moderation requests and responses (kraken-later-endpoints §13): ban, kick, timeout bodies, the log's
query, and the JSON of bans, timeouts and log entries (the reference's DTOs: each with the public
`user`/`moderator`/`targetUser` it names, or null)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictStr, field_validator

from kraken.common.time import IsoDateTime, iso, utcnow
from kraken.common.validation import RequestModel
from kraken.moderation.models import ModerationAction
from kraken.users.models import User
from kraken.users.schemas import UserOut

# ModerationAction's values, spelled out for the OpenAPI document (which inlines Literals, not enums)
ActionName = Literal["BAN_USER", "UNBAN_USER", "KICK_USER", "TIMEOUT_USER", "REMOVE_TIMEOUT", "DELETE_MESSAGE",
                     "PIN_MESSAGE", "UNPIN_MESSAGE"]
assert set(ActionName.__args__) == {a.value for a in ModerationAction}
MIN_TIMEOUT_SECONDS = 60           # one minute
MAX_TIMEOUT_SECONDS = 28 * 86400   # 28 days (2,419,200 s)


class ReasonIn(RequestModel):
    """`{reason?}`: unban, kick, remove timeout, moderator delete."""

    reason: StrictStr | None = Field(None, max_length=500)


class BanIn(ReasonIn):
    expiresAt: AwareDatetime | None = Field(None, description="when the ban ends; absent: permanent")

    @field_validator("expiresAt")
    @classmethod
    def _future(cls, v: datetime | None) -> datetime | None:
        if v is not None:
            v = v.astimezone(timezone.utc)
            if v <= utcnow():
                raise ValueError("expiresAt must be in the future")
        return v


class TimeoutIn(ReasonIn):
    durationSeconds: int = Field(ge=MIN_TIMEOUT_SECONDS, le=MAX_TIMEOUT_SECONDS, strict=True)


class LogsQuery(RequestModel):
    limit: int = Field(50, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)
    action: ActionName | None = None


class SuccessOut(BaseModel):
    success: bool
    message: str


class TimeoutStatusOut(BaseModel):
    isTimedOut: bool
    expiresAt: IsoDateTime | None = Field(None, description="only while timed out")


class CommunityTimeoutOut(BaseModel):
    id: str
    communityId: str
    userId: str
    moderatorId: str | None
    reason: str | None
    createdAt: IsoDateTime
    expiresAt: IsoDateTime
    user: UserOut | None
    moderator: UserOut | None


class CommunityBanOut(BaseModel):
    id: str
    communityId: str
    userId: str
    moderatorId: str | None
    reason: str | None
    createdAt: IsoDateTime
    expiresAt: IsoDateTime | None
    active: bool
    user: UserOut | None
    moderator: UserOut | None


class ModerationLogOut(BaseModel):
    id: str
    communityId: str
    moderatorId: str | None
    targetUserId: str | None
    targetMessageId: str | None
    action: ActionName
    reason: str | None
    metadata: dict | None
    createdAt: IsoDateTime
    moderator: UserOut | None
    targetUser: UserOut | None


class ModerationLogsOut(BaseModel):
    logs: list[ModerationLogOut]
    total: int


def _str(value) -> str | None:
    return None if value is None else str(value)


def users_by_id(ids) -> dict[str, dict]:
    """Public User JSON of these users, by id, in one query."""
    wanted = {i for i in ids if i is not None}
    return {str(u.id): UserOut.of(u) for u in User.objects(id__in=list(wanted))} if wanted else {}


def _common(doc, users: dict) -> dict[str, Any]:
    return {"id": doc.id, "communityId": str(doc.community_id), "userId": str(doc.user_id),
            "moderatorId": _str(doc.moderator_id), "reason": doc.reason, "createdAt": iso(doc.created_at),
            "user": users.get(str(doc.user_id)), "moderator": users.get(_str(doc.moderator_id))}


def ban_out(ban, users: dict) -> dict[str, Any]:
    return {**_common(ban, users), "expiresAt": iso(ban.expires_at), "active": bool(ban.active)}


def timeout_out(timeout, users: dict) -> dict[str, Any]:
    return {**_common(timeout, users), "expiresAt": iso(timeout.expires_at)}


def log_out(entry, users: dict) -> dict[str, Any]:
    return {"id": str(entry.id), "communityId": str(entry.community_id), "moderatorId": _str(entry.moderator_id),
            "targetUserId": _str(entry.target_user_id), "targetMessageId": _str(entry.target_message_id),
            "action": entry.action, "reason": entry.reason, "metadata": dict(entry.metadata or {}),
            "createdAt": iso(entry.created_at), "moderator": users.get(_str(entry.moderator_id)),
            "targetUser": users.get(_str(entry.target_user_id))}
