"""A channel's pin board: which of its messages are pinned, by whom and when (decision 0055).

The board is the truth of what is pinned in a channel; the message's own `pinned`, `pinnedAt` and
`pinnedBy` (Message JSON) are written after it from it. One document per channel, keyed by the
channel's id: its list and count change in one atomic update whose filter holds the cap, so two
pins racing for the last place cannot both win (no transaction needed)."""
from __future__ import annotations

from mongoengine import DictField, Document, IntField, ListField, ObjectIdField


class PinBoard(Document):
    meta = {"collection": "pin_boards"}

    id = ObjectIdField(primary_key=True)  # the channel's id
    ids = ListField(ObjectIdField())      # pinned message ids, in pin order
    n = IntField(default=0)               # len(ids), kept by the same updates: the cap's filter
    meta_ = DictField(db_field="meta")    # "m<messageId>" -> {by, at}


def entry_key(message_id: object) -> str:
    """The board's key of a message's entry (a letter first: a field name of digits alone would be
    read as an array index)."""
    return f"m{message_id}"
