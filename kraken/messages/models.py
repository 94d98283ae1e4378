"""The Message document."""
from __future__ import annotations

from mongoengine import DateTimeField, DictField, Document, ListField, ObjectIdField, StringField

from kraken.common.time import utcnow


class Message(Document):
    meta = {"collection": "messages",
            # history: newest first within a channel, cursor on _id
            "indexes": [{"fields": ["channel_id", "-id"]}]}

    channel_id = ObjectIdField(required=True, db_field="channelId")
    author_id = ObjectIdField(required=True, db_field="authorId")
    spans = ListField(DictField())
    attachments = ListField(DictField())
    # One {emoji, userId} pair per reaction: FerretDB 1.x has no positional `$` update, so a
    # nested {emoji, userIds[]} list could not be changed atomically; $addToSet/$pull on pairs can.
    reactions = ListField(DictField())
    sent_at = DateTimeField(default=utcnow, db_field="sentAt")
    edited_at = DateTimeField(db_field="editedAt")
    nonce = StringField(max_length=64)
