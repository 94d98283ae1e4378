"""Voice presence request models (media flags are booleans only; other keys are ignored, never stored)
and response models."""
from __future__ import annotations

from pydantic import BaseModel, StrictBool

from kraken.common.ids import ObjectIdStr
from kraken.common.validation import RequestModel


class VoiceStateIn(RequestModel):
    """`PUT .../voice-presence/state`: only the flags given are changed."""

    isVideoEnabled: StrictBool | None = None
    isScreenSharing: StrictBool | None = None
    isMuted: StrictBool | None = None
    isDeafened: StrictBool | None = None

    def updates(self) -> dict[str, bool]:
        return self.model_dump(exclude_none=True, exclude={"channelId"})


class DeafenIn(RequestModel):
    """`POST .../voice-presence/deafen` (the later versions' replacement of `PUT .../state` for deafen)."""

    isDeafened: StrictBool


class VoiceStateEventIn(VoiceStateIn):
    """`voice_state_update` carries the channel id beside the flags."""

    channelId: ObjectIdStr


class VoicePresenceUserOut(BaseModel):
    """VoicePresenceUser (contract §3.12); `displayName`/`avatarUrl` are omitted when null."""

    id: str
    username: str
    displayName: str | None = None
    avatarUrl: str | None = None
    joinedAt: str
    isVideoEnabled: bool
    isScreenSharing: bool
    isMuted: bool
    isDeafened: bool


class VoicePresenceOut(BaseModel):
    """`GET .../voice-presence`: users sorted by joinedAt."""

    channelId: str
    users: list[VoicePresenceUserOut]
    count: int

    @classmethod
    def of(cls, channel_id: str, entries: list[dict]) -> dict:
        return cls(channelId=channel_id, users=entries, count=len(entries)).model_dump(exclude_none=True)


class VoiceActionOut(BaseModel):
    """join, leave, refresh."""

    success: bool
    message: str
    channelId: str

    @classmethod
    def of(cls, channel_id: str, message: str) -> dict:
        return cls(success=True, message=message, channelId=channel_id).model_dump()


class VoiceStateOut(VoiceActionOut):
    """`PUT .../state`: `updates` holds the flags that were applied."""

    updates: dict[str, bool]


class DmVoicePresenceOut(BaseModel):
    """`GET /api/dm-groups/:id/voice-presence`: who is in the group's call, sorted by joinedAt."""

    dmGroupId: str
    users: list[VoicePresenceUserOut]
    count: int

    @classmethod
    def of(cls, group_id: str, entries: list[dict]) -> dict:
        return cls(dmGroupId=group_id, users=entries, count=len(entries)).model_dump(exclude_none=True)


class DmVoiceActionOut(BaseModel):
    """DM call refresh and leave."""

    success: bool
    message: str
    dmGroupId: str

    @classmethod
    def of(cls, group_id: str, message: str) -> dict:
        return cls(success=True, message=message, dmGroupId=group_id).model_dump()


class MyVoiceChannelsOut(BaseModel):
    userId: str
    voiceChannels: list[str]
