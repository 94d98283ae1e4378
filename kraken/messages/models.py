"""The Message document."""
from __future__ import annotations

from mongoengine import DateTimeField, DictField, Document, IntField, ListField, ObjectIdField, StringField

from kraken.common.time import utcnow
from kraken.messages import timeline


class Message(Document):
    meta = {"collection": "messages",
            "indexes": [
                # history, one bucket at a time, newest first (kraken.messages.timeline)
                {"fields": ["bucket", "-seq"]},
                # a channel's clean-up
                {"fields": ["channel_id"]},
                # a resent nonce while Redis is away
                {"fields": ["nonce"], "sparse": True},
            ]}

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
    # the message's place in its channel (kraken.messages.timeline): number and bucket key
    seq = IntField()
    bucket = StringField()

    def save(self, *args, **kwargs):
        """A message saved one by one (not through the send path's group commit) gets its place too."""
        if self.seq is None and self.channel_id is not None:
            place = {"channelId": self.channel_id}
            timeline.number([place])
            self.seq, self.bucket = place["seq"], place["bucket"]
        return super().save(*args, **kwargs)
