"""Auth request models and responses."""
from __future__ import annotations

from pydantic import BaseModel, Field, StrictStr

from kraken.common.validation import RequestModel


class LoginIn(RequestModel):
    # Strict strings: `{"$ne": null}` and friends are a 400, never a query.
    username: StrictStr = Field(min_length=1, max_length=64)
    password: StrictStr = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    accessToken: str


class MessageOut(BaseModel):
    message: str
