"""Search query parameters (kraken-later-endpoints §12)."""
from __future__ import annotations

from pydantic import Field, StrictStr

from kraken.common.validation import RequestModel
from kraken.messages.schemas import MessageOut

MAX_QUERY = 500  # characters of `q`


class SearchQuery(RequestModel):
    q: StrictStr | None = Field(None, max_length=MAX_QUERY, description="words to find, all of them "
                                "(case, accents and English endings ignored); empty gives []")
    limit: int = Field(50, ge=1, le=100)


class CommunityHitOut(MessageOut):
    """A community search result: the message JSON and the name of its channel."""

    channelName: str
