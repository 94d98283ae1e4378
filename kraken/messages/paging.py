"""History pages of any conversation (a channel, a direct-message group, a thread): older, newer and
around a message (kraken-head-features §9; docs/decisions/0045-jump-to-message.md).

Every page is newest first, as the web client expects in both directions. Items are ready Message JSON
strings (the route joins them). A continuation token is a message id, opaque to the client and exclusive;
it names a place in the conversation's numbering (kraken.messages.timeline), also once that message is
deleted (its tombstone), so paging either way stays exact while messages are sent, edited and deleted.
A token that is not of this conversation gives an empty page.

The callers authorise first (kraken.rbac) and pass the conversation's id: a channel's id, a group's id,
or a thread's parent message id (Message.conversation_id).
"""
from __future__ import annotations

from typing import Callable

from kraken.errors import NotFoundError
from kraken.messages import recent, timeline
from kraken.messages.schemas import message_out

OLDER, NEWER = "older", "newer"


def _items(messages, out: Callable = message_out) -> list[str]:
    return [recent.body(recent.encode(out(m), m.seq)) for m in messages]


def page(conversation_id: object, limit: int, token: str | None = None, direction: str | None = OLDER,
         out: Callable = message_out) -> tuple[list[str], str | None]:
    """A page of `limit` messages at most, newest first, and the token for the next page in the same
    direction (only for a full page).

    `direction` "newer" pages towards the present: the messages just newer than `token` (the oldest
    `limit` of the conversation without one) and the token is the page's newest id. Anything else pages
    older: the messages just older than `token` (the newest without one), the token the page's oldest id;
    served from the recent-history cache when it can answer. `out`: the Message JSON of the caller's
    routes (message_out by default)."""
    if direction == NEWER:
        above = 0
        if token:
            above = timeline.position(conversation_id, token)
            if above is None:
                return [], None
        found, _ = timeline.newer(conversation_id, limit, above)
        found = found[:limit]
        return _items(found[::-1], out), (str(found[-1].id) if len(found) == limit else None)
    return older_page(conversation_id, limit, token, out)


def older_page(conversation_id: object, limit: int, before: str | None,
               out: Callable = message_out) -> tuple[list[str], str | None]:
    """The older direction of `page`, read through the recent-history cache (kraken.messages.recent)."""
    def stored() -> tuple[list[str], bool] | None:
        below = None
        if before:
            below = timeline.position(conversation_id, before)
            if below is None:
                return None
        found, complete = timeline.older(conversation_id, limit, below)
        return [recent.encode(out(m), m.seq) for m in found], complete

    items = recent.read_through(conversation_id, limit, before, stored)
    return [recent.body(item) for item in items], (recent.item_id(items[-1]) if len(items) == limit else None)


def around(conversation_id: object, message_id: str, limit: int,
           out: Callable = message_out) -> tuple[list[str], str | None, str | None]:
    """The messages around `message_id`, newest first: half = max(1, (limit - 1) // 2) newer ones, the
    message itself, half older ones; with the older token (the oldest id, when `half` older ones were
    found; for `direction=older`) and the newer token (the newest id, when `half` newer ones were found;
    for `direction=newer`).

    A message deleted since still has its place: its neighbours come without it. NotFoundError
    ("Message not found") when the id was never a message of this conversation (another channel, a
    thread reply asked in its channel)."""
    seq = timeline.position(conversation_id, message_id)
    if seq is None:
        raise NotFoundError("Message not found")
    half = max(1, (limit - 1) // 2)
    newer_part, anchor, older_part = timeline.around(conversation_id, seq, limit)
    messages = newer_part + ([anchor] if anchor is not None else []) + older_part
    older_token = str(older_part[-1].id) if len(older_part) == half else None
    newer_token = str(newer_part[0].id) if len(newer_part) == half else None
    return _items(messages, out), older_token, newer_token
