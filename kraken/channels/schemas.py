"""Channel request models and Channel JSON."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr, field_validator

from kraken.common.ids import ObjectIdStr
from kraken.common.time import IsoDateTime
from kraken.common.validation import RequestModel
from kraken.communities.schemas import _name
from kraken.users.schemas import _visible_text


class ChannelIn(RequestModel):
    name: StrictStr = Field(min_length=1, max_length=100)
    communityId: ObjectIdStr
    type: Literal["TEXT", "VOICE"]
    isPrivate: StrictBool = False
    description: StrictStr | None = Field(None, max_length=1024)

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))
    _d = field_validator("description")(classmethod(lambda cls, v: _visible_text(v)))


class ChannelPatch(RequestModel):
    name: StrictStr | None = Field(None, min_length=1, max_length=100)
    type: Literal["TEXT", "VOICE"] | None = None
    isPrivate: StrictBool | None = None
    description: StrictStr | None = Field(None, max_length=1024)
    position: StrictInt | None = Field(None, ge=0, le=100_000, description="Written as given; the next move "
                                       "renumbers the type's channels 0..n-1")

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))
    _d = field_validator("description")(classmethod(lambda cls, v: _visible_text(v)))


class MoveIn(RequestModel):
    """`{communityId}`: the community the channel must belong to (decision 0056)."""

    communityId: ObjectIdStr


class ChannelOut(BaseModel):
    id: str
    name: str
    communityId: str
    createdAt: IsoDateTime
    type: str
    isPrivate: bool
    description: str | None
    position: int = Field(description="Place among the community's channels of its type, 0-based")

    @classmethod
    def of(cls, c) -> dict[str, Any]:
        return cls(id=str(c.id), name=c.name, communityId=str(c.community_id), createdAt=c.created_at,
                   type=c.type, isPrivate=bool(c.is_private), description=c.description,
                   position=c.position or 0).model_dump(mode="json")
