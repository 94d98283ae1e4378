"""Pin request bodies and the pin list's JSON (Message JSON with its author)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictStr

from kraken.common.validation import RequestModel
from kraken.messages.schemas import MessageOut, message_out
from kraken.users.schemas import UserOut


class PinIn(RequestModel):
    """`{reason?}`: kept in the moderation log."""

    reason: StrictStr | None = Field(None, max_length=500)


class PinDoneOut(BaseModel):
    success: bool
    message: str


class PinnedMessageOut(MessageOut):
    """Message JSON plus its author (public User JSON; null for a deleted account)."""

    author: UserOut | None


def pinned_out(message, author) -> dict[str, Any]:
    return {**message_out(message), "author": None if author is None else UserOut.of(author)}
