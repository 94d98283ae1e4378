"""LiveKit request and response models."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, StrictBool, StrictInt, StrictStr

from kraken.common.ids import ObjectIdStr
from kraken.common.validation import RequestModel

DEFAULT_TTL = 3600      # seconds (docs/decisions/0019-voice-and-livekit.md)
MAX_TTL = 6 * 3600


class TokenIn(RequestModel):
    """`identity` is accepted for the web client's sake and ignored: the token is the caller's."""

    roomId: ObjectIdStr
    identity: Any = None
    name: StrictStr | None = Field(None, max_length=128)
    ttl: StrictInt = Field(DEFAULT_TTL, ge=1, le=MAX_TTL)


class MuteIn(RequestModel):
    """`{userId, trackSid?, muted}`; the later versions' `participantIdentity` / `mute` work too."""

    userId: ObjectIdStr = Field(validation_alias=AliasChoices("userId", "participantIdentity"))
    trackSid: StrictStr | None = Field(None, min_length=1, max_length=64)
    muted: StrictBool = Field(validation_alias=AliasChoices("muted", "mute"))


class TokenOut(BaseModel):
    """TokenResponse (contract §3.12); `url` is what browsers connect to."""

    token: str
    identity: str
    roomId: str
    url: str | None = None
    expiresAt: str


class ConnectionInfoOut(BaseModel):
    """`{url}`, or `{}` when voice is not configured."""

    url: str | None = None


class LiveKitHealthOut(BaseModel):
    status: Literal["healthy", "unhealthy"]
    configured: bool


class WebhookOut(BaseModel):
    """`applied`: the event concerned one of this instance's voice channels."""

    success: bool
    applied: bool


class MuteOut(BaseModel):
    success: bool
    channelId: str
    userId: str
    muted: bool
    trackSids: list[str]
