"""User request models and response serialisers."""
from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

import email_validator
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StrictBool, StrictStr, field_validator

from kraken.common.ids import ObjectIdStr
from kraken.common.time import IsoDateTime
from kraken.common.urls import OptionalUrl
from kraken.common.validation import RequestModel

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{2,32}$")

# E-mail addresses are checked for syntax only (docs/decisions/0006-registration-by-invite.md).
# email-validator refuses the IANA special-use domains (`.test`, `.local`, `.localhost`, `.onion`, `.arpa`
# with `home.arpa`, ...) to keep mail from being sent there; Kraken sends no mail and self-hosters use
# these domains, so they are taken out of its list, through the library's documented setting. `.invalid`
# stays refused: RFC 6761 reserves it to never exist, so an address there is a placeholder.
# Pydantic's EmailStr calls email-validator without DNS checks; its other rules (one @, a dotted domain
# ending in a letter, label and length limits) still apply.
SPECIAL_USE_DOMAINS_REFUSED = ("invalid",)
email_validator.SPECIAL_USE_DOMAIN_NAMES = [d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES
                                            if d in SPECIAL_USE_DOMAINS_REFUSED]


def normalise_username(value: str) -> str:
    value = value.strip().lower()
    if not USERNAME_RE.match(value):
        raise ValueError("username must be 2-32 characters of a-z, 0-9, '_', '.', '-'")
    return value


def _password(value: str) -> str:
    # Counted in characters, not bytes: argon2id has no 72-byte limit.
    if not 8 <= len(value) <= 256:
        raise ValueError("password must be 8-256 characters")
    return value


def _visible_text(value: str | None) -> str | None:
    """Strip; empty or invisible-only strings become None."""
    if value is None:
        return None
    value = value.strip()
    visible = "".join(ch for ch in value if unicodedata.category(ch) not in ("Cf", "Zs", "Cc"))
    return value if visible else None


Username = Annotated[StrictStr, AfterValidator(normalise_username)]
Password = Annotated[StrictStr, AfterValidator(_password)]


class RegisterIn(RequestModel):
    username: Username
    password: Password
    code: StrictStr | None = Field(None, max_length=64)
    email: EmailStr | None = Field(None, max_length=254)

    @field_validator("email", mode="before")
    @classmethod
    def _blank_email(cls, v: Any) -> Any:
        return None if v == "" else v


class ProfileUpdateIn(RequestModel):
    displayName: StrictStr | None = Field(None, max_length=64)
    avatarUrl: OptionalUrl = None
    bio: StrictStr | None = Field(None, max_length=500)
    status: StrictStr | None = Field(None, max_length=128)

    @field_validator("displayName", "bio", "status")
    @classmethod
    def _visible(cls, v: str | None) -> str | None:
        return _visible_text(v)


class PasswordChangeIn(RequestModel):
    currentPassword: StrictStr = Field(max_length=256)
    newPassword: Password


class NotificationPreferences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    desktop: StrictBool = True
    sound: StrictBool = True
    mentionsOnly: StrictBool = False


class PreferencesIn(BaseModel):
    """The whole preferences object; unknown keys are refused so it stays small and typed."""

    model_config = ConfigDict(extra="forbid")
    theme: Literal["system", "light", "dark"] = "system"
    notifications: NotificationPreferences = NotificationPreferences()
    language: StrictStr | None = Field(None, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class UserListQuery(RequestModel):
    limit: int = Field(20, ge=1, le=100)
    continuationToken: ObjectIdStr | None = None


class UserSearchQuery(RequestModel):
    q: StrictStr = Field("", max_length=64)
    communityId: ObjectIdStr | None = None
    limit: int = Field(20, ge=1, le=100)


class UserOut(BaseModel):
    """User JSON (contract §3.12 plus bio, status, createdAt). Never carries e-mail."""

    id: str
    username: str
    role: str
    avatarUrl: str | None
    lastSeen: IsoDateTime | None
    displayName: str | None
    bio: str | None
    status: str | None
    createdAt: IsoDateTime

    @classmethod
    def of(cls, user) -> dict[str, Any]:
        return cls(id=str(user.id), username=user.username, role=user.role, avatarUrl=user.avatar_url,
                   lastSeen=user.last_seen, displayName=user.display_name, bio=user.bio,
                   status=user.status, createdAt=user.created_at).model_dump(mode="json")


class ProfileOut(UserOut):
    """The caller's own User JSON: the only place their e-mail appears."""

    email: str | None

    @classmethod
    def of(cls, user) -> dict[str, Any]:
        return {**UserOut.of(user), "email": user.email}


class UserPageOut(BaseModel):
    users: list[UserOut]
    continuationToken: str | None = None
