"""Instance settings and statistics bodies (kraken-head-features §12.3)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictInt, StrictStr, field_validator

from kraken.common.time import IsoDateTime
from kraken.common.validation import RequestModel

RegistrationMode = Literal["OPEN", "INVITE_ONLY", "CLOSED"]


class SettingsPatch(RequestModel):
    name: StrictStr | None = Field(None, min_length=1, max_length=100)
    description: StrictStr | None = Field(None, max_length=500)
    registrationMode: RegistrationMode | None = None
    defaultStorageQuotaBytes: StrictInt | None = Field(None, ge=0, le=2 ** 62)
    maxFileSizeBytes: StrictInt | None = Field(None, ge=0, le=2 ** 62)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("name must not be blank")
        return v.strip() if v is not None else v

    def changes(self) -> dict[str, Any]:
        """The fields sent; a null name, mode or size means "unchanged", a null description clears it."""
        sent = self.model_dump(exclude_unset=True)
        return {k: v for k, v in sent.items() if v is not None or k == "description"}


class SettingsOut(BaseModel):
    id: str
    name: str
    description: str | None
    registrationMode: RegistrationMode
    createdAt: IsoDateTime
    updatedAt: IsoDateTime
    defaultStorageQuotaBytes: int
    maxFileSizeBytes: int
    vapidPublicKey: str | None
    vapidSubject: str | None

    @classmethod
    def of(cls, s) -> dict[str, Any]:
        return cls(id=s.id, name=s.name, description=s.description, registrationMode=s.registration_mode,
                   createdAt=s.created_at, updatedAt=s.updated_at,
                   defaultStorageQuotaBytes=s.default_storage_quota_bytes, maxFileSizeBytes=s.max_file_size_bytes,
                   vapidPublicKey=s.vapid_public_key, vapidSubject=s.vapid_subject).model_dump(mode="json")


class PublicSettingsOut(BaseModel):
    name: str
    registrationMode: RegistrationMode
    maxFileSizeBytes: int

    @classmethod
    def of(cls, s) -> dict[str, Any]:
        return cls(name=s.name, registrationMode=s.registration_mode,
                   maxFileSizeBytes=s.max_file_size_bytes).model_dump(mode="json")


class StatsOut(BaseModel):
    totalUsers: int
    totalCommunities: int
    totalChannels: int
    totalMessages: int
    activeInvites: int
    bannedUsers: int
