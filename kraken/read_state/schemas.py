from __future__ import annotations

from pydantic import BaseModel, model_validator

from kraken.common.ids import ObjectIdStr
from kraken.common.validation import RequestModel


class MarkReadIn(RequestModel):
    lastReadMessageId: ObjectIdStr
    channelId: ObjectIdStr | None = None
    directMessageGroupId: ObjectIdStr | None = None

    @model_validator(mode="after")
    def _one_context(self):
        if (self.channelId is None) == (self.directMessageGroupId is None):
            raise ValueError("Must provide exactly one of channelId or directMessageGroupId")
        return self


class ReadReceiptOut(BaseModel):
    id: str
    userId: str
    channelId: str | None
    directMessageGroupId: str | None
    lastReadMessageId: str
    lastReadAt: str


class UnreadCountOut(BaseModel):
    """One conversation's counts: `channelId` or `directMessageGroupId`; `lastRead*` once it was read."""
    channelId: str | None = None
    directMessageGroupId: str | None = None
    unreadCount: int
    mentionCount: int
    lastReadMessageId: str | None = None
    lastReadAt: str | None = None


class PeerReadOut(BaseModel):
    userId: str
    lastReadAt: str
