"""Community request models and Community JSON."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictStr, field_validator

from kraken.common.time import IsoDateTime
from kraken.common.urls import OptionalUrl
from kraken.common.validation import RequestModel
from kraken.users.schemas import _visible_text


def _name(v: str | None) -> str | None:
    if v is None:
        return None
    v = _visible_text(v)
    if not v:
        raise ValueError("name must not be empty")
    return v


class CommunityIn(RequestModel):
    name: StrictStr = Field(min_length=1, max_length=100)
    description: StrictStr | None = Field(None, max_length=500)
    avatar: OptionalUrl = None
    banner: OptionalUrl = None

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))
    _d = field_validator("description")(classmethod(lambda cls, v: _visible_text(v)))


class CommunityPatch(RequestModel):
    name: StrictStr | None = Field(None, min_length=1, max_length=100)
    description: StrictStr | None = Field(None, max_length=500)
    avatar: OptionalUrl = None
    banner: OptionalUrl = None

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))


class CommunityOut(BaseModel):
    id: str
    name: str
    createdAt: IsoDateTime
    avatar: str | None
    banner: str | None
    description: str | None

    @classmethod
    def of(cls, c) -> dict[str, Any]:
        return cls(id=str(c.id), name=c.name, createdAt=c.created_at, avatar=c.avatar, banner=c.banner,
                   description=c.description).model_dump(mode="json")
