"""The Message document and its place in its channel's history (seq, bucket; kraken.messages.timeline)."""
from __future__ import annotations

from collections import defaultdict

from bson import ObjectId
from mongoengine import (BooleanField, DateTimeField, DictField, Document, IntField, ListField, ObjectIdField, StringField,
                         ValidationError)
from pymongo import ReturnDocument

from kraken.common.time import utcnow


BUCKET = 64  # messages per bucket; part of the stored data (a change needs a migration)


class MessageCounter(Document):
    """A conversation's last message number. Once a reader has needed it without Redis's mirror
    (kraken.read_state), a channel's counter names its community and a direct-message group's counter
    lists that reader (`timeline.community_last_seqs`, `timeline.reader_last_seqs`): a community's
    counters, or all of a user's groups' counters, are then one equality."""

    meta = {"collection": "message_counters", "indexes": [{"fields": ["community_id"], "sparse": True},
                                                          {"fields": ["readers"], "sparse": True}]}
    id = ObjectIdField(primary_key=True)  # the conversation's id
    seq = IntField(default=0)
    community_id = ObjectIdField(db_field="communityId")
    readers = ListField(ObjectIdField())


class MessageTombstone(Document):
    """Where a deleted message was: continuation tokens naming it keep working."""

    meta = {"collection": "message_tombstones", "indexes": [{"fields": ["channel_id"]}]}
    id = ObjectIdField(primary_key=True)  # the deleted message's id
    channel_id = ObjectIdField(required=True, db_field="channelId")
    seq = IntField(required=True)
    deleted_at = DateTimeField(default=utcnow, db_field="deletedAt")


def bucket_key(channel_id: object, seq: int) -> str:
    return f"{channel_id}:{seq // BUCKET}"


def conversation_of(doc: dict) -> ObjectId:
    """The history a stored message document belongs to: its thread (a reply's parent message), its
    direct-message group, or its channel. Numbers, buckets, tombstones and the recent list are kept per
    conversation, so replies stay out of their channel's history and DMs share the channels' layout."""
    return doc.get("parentMessageId") or doc.get("directMessageGroupId") or doc["channelId"]


def number(documents: list[dict], counters=None) -> None:
    """Give new message documents (as inserted, in order) their `seq` and `bucket`.

    One atomic `$inc` per conversation reserves a run of numbers for all of its documents.
    `counters`: the counter collection, when not the app's (a benchmark's own database)."""
    by_channel: dict[ObjectId, list[dict]] = defaultdict(list)
    for doc in documents:
        by_channel[conversation_of(doc)].append(doc)
    counters = counters if counters is not None else MessageCounter._get_collection()
    for channel_id, docs in by_channel.items():
        top = counters.find_one_and_update({"_id": channel_id}, {"$inc": {"seq": len(docs)}}, upsert=True,
                                           return_document=ReturnDocument.AFTER)["seq"]
        for offset, doc in enumerate(docs):
            doc["seq"] = top - len(docs) + 1 + offset
            doc["bucket"] = bucket_key(channel_id, doc["seq"])


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

    # where it was sent: a channel, or a direct-message group (exactly one); a thread reply also names
    # its parent message (in the parent's channel or group)
    channel_id = ObjectIdField(db_field="channelId")
    direct_message_group_id = ObjectIdField(db_field="directMessageGroupId")
    parent_message_id = ObjectIdField(db_field="parentMessageId")
    author_id = ObjectIdField(required=True, db_field="authorId")
    spans = ListField(DictField())
    attachments = ListField(DictField())
    # One {emoji, userId} pair per reaction: FerretDB 1.x has no positional `$` update, so a
    # nested {emoji, userIds[]} list could not be changed atomically; $addToSet/$pull on pairs can.
    reactions = ListField(DictField())
    sent_at = DateTimeField(default=utcnow, db_field="sentAt")
    edited_at = DateTimeField(db_field="editedAt")
    nonce = StringField(max_length=64)
    # a thread's parent: its replies' count and the newest reply's time (kraken.threads; atomic $inc/$max)
    reply_count = IntField(db_field="replyCount")
    last_reply_at = DateTimeField(db_field="lastReplyAt")
    # files the sender still uploads (`POST /api/messages/:id/attachments` counts down; KLE §2.3)
    pending_attachments = IntField(db_field="pendingAttachments")  # no min_value: it would refuse the $inc of -1
    # the message's place in its conversation (kraken.messages.timeline): number and bucket key
    seq = IntField()
    bucket = StringField()
    # pinned (kraken.pins: written from the channel's pin board, its truth); absent when not pinned
    pinned = BooleanField()
    pinned_at = DateTimeField(db_field="pinnedAt")
    pinned_by = ObjectIdField(db_field="pinnedBy")

    @property
    def conversation_id(self) -> ObjectId:
        return self.parent_message_id or self.direct_message_group_id or self.channel_id

    def clean(self) -> None:
        if (self.channel_id is None) == (self.direct_message_group_id is None):
            raise ValidationError("a message is in one channel or one direct-message group")

    def save(self, *args, **kwargs):
        """A message saved one by one (not through the send path's group commit) gets its place too."""
        if self.seq is None and self.conversation_id is not None:
            place = {"channelId": self.channel_id, "directMessageGroupId": self.direct_message_group_id,
                     "parentMessageId": self.parent_message_id}
            number([place])
            self.seq, self.bucket = place["seq"], place["bucket"]
        return super().save(*args, **kwargs)
