"""Thread requests and responses (kraken-head-features §1)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from kraken.common.ids import ObjectIdStr
from kraken.common.time import iso
from kraken.messages.schemas import HistoryQuery, MessageContentIn, MessageOut


class ThreadReplyIn(MessageContentIn):
    """`sendThreadReply`: a reply's content and the message it answers."""

    parentMessageId: ObjectIdStr


class RepliesQuery(HistoryQuery):
    """`limit` (1..100, default 50) and `continuationToken` (a reply id: the page starts after it)."""


def count_out(parent_id: object, reply_count: int, last_reply_at, channel_id, group_id) -> dict:
    """`threadReplyCountUpdated`'s payload."""
    return {"parentMessageId": str(parent_id), "replyCount": int(reply_count or 0), "lastReplyAt": iso(last_reply_at),
            "channelId": None if channel_id is None else str(channel_id),
            "directMessageGroupId": None if group_id is None else str(group_id)}


class ThreadMetadataOut(BaseModel):
    parentMessageId: str
    replyCount: int
    lastReplyAt: str | None
    isSubscribed: bool


class ThreadRepliesOut(BaseModel):
    """A page of replies, oldest first; `continuationToken` only when the page is full."""

    replies: list[MessageOut]
    continuationToken: str | None = Field(None, description="Only present when the page is full")
