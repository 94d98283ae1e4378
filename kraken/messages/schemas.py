"""Message request models (spans validated at the edge) and Message JSON."""
from __future__ import annotations

import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator, model_validator

from kraken.common.ids import ObjectIdStr
from kraken.common.time import iso
from kraken.common.validation import RequestModel

MAX_SPANS = 200
MAX_TEXT = 4000
MAX_ATTACHMENTS = 10
SPECIAL_KINDS = ("here", "everyone", "channel")
SPAN_KEYS = ("type", "text", "userId", "specialKind", "channelId", "communityId", "aliasId")


def visible(text: str) -> bool:
    """True when `text` has something a reader can see (not only spaces, controls, zero-width marks)."""
    return any(unicodedata.category(ch) not in ("Zs", "Zl", "Zp", "Cc", "Cf", "Mn") for ch in text)


class SpanIn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Literal["PLAINTEXT", "USER_MENTION", "SPECIAL_MENTION", "CHANNEL_MENTION", "COMMUNITY_MENTION",
                  "ALIAS_MENTION"]
    text: StrictStr | None = Field(None, max_length=MAX_TEXT)
    userId: ObjectIdStr | None = None
    specialKind: Literal["here", "everyone", "channel"] | None = None
    channelId: ObjectIdStr | None = None
    # an opaque id: the current client sends a channel's id for `#channel` (kraken-head-features §4)
    communityId: ObjectIdStr | None = None
    aliasId: ObjectIdStr | None = None

    @model_validator(mode="after")
    def _needs_its_field(self) -> "SpanIn":
        need = {"PLAINTEXT": "text", "USER_MENTION": "userId", "SPECIAL_MENTION": "specialKind",
                "CHANNEL_MENTION": "channelId", "COMMUNITY_MENTION": "communityId",
                "ALIAS_MENTION": "aliasId"}[self.type]
        if getattr(self, need) in (None, ""):
            raise ValueError(f"a {self.type} span needs {need}")
        return self


AttachmentRef = ObjectIdStr | dict[str, Any]


class MessageBodyIn(RequestModel):
    """What a client may say about a message's content (create and edit)."""

    spans: list[SpanIn] = Field(min_length=1, max_length=MAX_SPANS)

    @field_validator("spans")
    @classmethod
    def _text_limits(cls, spans: list[SpanIn]) -> list[SpanIn]:
        total = sum(len(s.text or "") for s in spans)
        if total > MAX_TEXT:
            raise ValueError(f"at most {MAX_TEXT} characters of text")
        return spans


class MessageContentIn(MessageBodyIn):
    """A new message's content, wherever it is sent (a channel, a direct-message group)."""

    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    nonce: StrictStr | None = Field(None, min_length=1, max_length=64)
    # files still to come through `POST /api/messages/:id/attachments` (KLE §2.3)
    pendingAttachments: StrictInt | None = Field(None, ge=0, le=MAX_ATTACHMENTS)

    @model_validator(mode="after")
    def _has_content(self) -> "MessageContentIn":
        if len(self.attachments) + (self.pendingAttachments or 0) > MAX_ATTACHMENTS:
            raise ValueError(f"at most {MAX_ATTACHMENTS} attachments, pending ones included")
        if not self.attachments and not self.pendingAttachments and \
                not any(s.type != "PLAINTEXT" or visible(s.text or "") for s in self.spans):
            raise ValueError("a message needs visible text, a mention or an attachment")
        return self


class MessageIn(MessageContentIn):
    channelId: ObjectIdStr


class DirectMessageIn(MessageContentIn):
    """`sendDirectMessage`: the contract's CreateMessageDto with `directMessageGroupId`."""

    directMessageGroupId: ObjectIdStr


class MessageEditIn(MessageBodyIn):
    @model_validator(mode="after")
    def _has_content(self) -> "MessageEditIn":
        if not any(s.type != "PLAINTEXT" or visible(s.text or "") for s in self.spans):
            raise ValueError("a message needs visible text or a mention")
        return self


class HistoryQuery(RequestModel):
    limit: int = Field(50, ge=1, le=100)
    continuationToken: ObjectIdStr | None = None
    direction: StrictStr | None = Field(None, max_length=16, description="`newer` pages towards the present "
                                        "(the token is then the page's newest id); anything else pages older")


class AroundQuery(RequestModel):
    limit: int = Field(50, ge=1, le=100)


class ReactionIn(RequestModel):
    messageId: ObjectIdStr
    emoji: StrictStr = Field(min_length=1, max_length=32)

    @field_validator("emoji")
    @classmethod
    def _visible_emoji(cls, v: str) -> str:
        if not visible(v):
            raise ValueError("emoji must be visible")
        return v


def group_reactions(pairs: list[dict]) -> list[dict[str, Any]]:
    """[{emoji, userId}] pairs → the wire's [{emoji, userIds}], in order of first use."""
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        grouped.setdefault(pair["emoji"], []).append(pair["userId"])
    return [{"emoji": emoji, "userIds": users} for emoji, users in grouped.items()]


def _str(value) -> str | None:
    return None if value is None else str(value)


def message_out(m) -> dict[str, Any]:
    """Message JSON (contract §3.12 plus `nonce`); every span carries all seven keys."""
    out = {
        "id": str(m.id), "channelId": _str(m.channel_id), "directMessageGroupId": _str(m.direct_message_group_id),
        "authorId": str(m.author_id),
        "spans": [{key: span.get(key) for key in SPAN_KEYS} for span in m.spans],
        "attachments": [{k: a.get(k) for k in ("id", "url", "filename", "filetype", "size")} for a in m.attachments],
        "reactions": group_reactions(m.reactions),
        "sentAt": iso(m.sent_at), "editedAt": iso(m.edited_at), "deletedAt": None,
        "parentMessageId": _str(m.parent_message_id), "replyCount": m.reply_count or 0,
        "lastReplyAt": iso(m.last_reply_at),
        "pinned": bool(m.pinned), "pinnedAt": iso(m.pinned_at), "pinnedBy": _str(m.pinned_by),
    }
    if m.nonce:
        out["nonce"] = m.nonce
    if m.pending_attachments is not None:
        out["pendingAttachments"] = m.pending_attachments
    return out


# Response models: the shape message_out() builds, for the OpenAPI document (kraken.openapi_spec).

class SpanOut(BaseModel):
    """A stored span: always all seven keys, the unused ones null."""

    type: str
    text: str | None
    userId: str | None
    specialKind: str | None
    channelId: str | None
    communityId: str | None
    aliasId: str | None


class AttachmentOut(BaseModel):
    """The contract's {url, filename, filetype, size} plus the file id."""

    id: str | None
    url: str | None
    filename: str | None
    filetype: str | None
    size: int | None


class ReactionOut(BaseModel):
    emoji: str
    userIds: list[str]


class MessageOut(BaseModel):
    """Message JSON (contract §3.12); `nonce` only when the sender gave one."""

    id: str
    channelId: str | None = Field(description="The channel; null for a direct message")
    directMessageGroupId: str | None = Field(description="The direct-message group; null in a channel")
    authorId: str
    spans: list[SpanOut]
    attachments: list[AttachmentOut]
    reactions: list[ReactionOut]
    sentAt: str
    editedAt: str | None
    deletedAt: None
    parentMessageId: str | None = Field(description="The thread's parent message, for a reply; else null")
    replyCount: int = Field(description="Replies in this message's thread (0 for a reply)")
    lastReplyAt: str | None = Field(description="When its thread's newest reply was sent; null without replies")
    pinned: bool = Field(description="Whether it is pinned in its channel (kraken.pins)")
    pinnedAt: str | None = Field(description="When it was pinned; null when not pinned")
    pinnedBy: str | None = Field(description="Who pinned it; null when not pinned")
    nonce: str | None = Field(None, description="Only present when the sender gave one")
    pendingAttachments: int | None = Field(None, description="Files still to be added (only present when the "
                                           "sender announced some)")


class MessagePageOut(BaseModel):
    """A page of history, newest first; `continuationToken` only when there is more."""

    messages: list[MessageOut]
    continuationToken: str | None = Field(None, description="Only present for a full page: the oldest id (the "
                                          "newest with direction=newer), for the next page that way")


class AroundPageOut(BaseModel):
    """The messages around one, newest first: the newer ones, the message (unless deleted), the older ones."""

    messages: list[MessageOut]
    olderContinuationToken: str | None = Field(None, description="The oldest id, when there may be older "
                                               "messages: pass it with direction=older")
    newerContinuationToken: str | None = Field(None, description="The newest id, when there may be newer "
                                               "messages: pass it with direction=newer")


class AttachmentIn(RequestModel):
    """`POST /api/messages/:id/attachments`: a file to add, or nothing (one announced file will not come)."""

    fileId: ObjectIdStr | None = None
