"""One document per user holding every read watermark and mention counter of that user (keyed by the
conversation's id), so `unread-counts` reads one document whatever the number of conversations
(FerretDB 1.24 pushes down equality only: one `_id` look-up, no `$in`)."""
from __future__ import annotations

from mongoengine import DictField, Document, ObjectIdField


class ReadState(Document):
    """`marks`: {conversationId: {"seq", "messageId", "at", "kind": "channel"|"dm"}}: `seq` is the
    watermark message's number in its conversation (kraken.messages.timeline), so marks compare exactly.
    `mentions`: {conversationId: n}, mentions of this user since they last marked the conversation read."""

    meta = {"collection": "read_states"}
    id = ObjectIdField(primary_key=True)  # the user's id
    marks = DictField()
    mentions = DictField()
