"""Who follows a thread (ThreadSubscriber). Replies are Message documents naming their parent
(kraken.messages.models); the parent keeps `replyCount` and `lastReplyAt`."""
from __future__ import annotations

from mongoengine import DateTimeField, Document, ObjectIdField, StringField

from kraken.common.time import utcnow


def subscriber_key(parent_message_id: object, user_id: object) -> str:
    return f"{parent_message_id}:{user_id}"


class ThreadSubscriber(Document):
    """A user following a thread; keyed `<parentMessageId>:<userId>` so subscribing is an idempotent
    upsert by `_id` (one per user and thread without a unique index)."""

    meta = {"collection": "thread_subscribers",
            "indexes": [{"fields": ["parent_message_id"]}, {"fields": ["channel_id"]},
                        {"fields": ["user_id"]}]}  # a deleted user's follows (kraken.admin)
    id = StringField(primary_key=True)
    parent_message_id = ObjectIdField(required=True, db_field="parentMessageId")
    user_id = ObjectIdField(required=True, db_field="userId")
    # the parent's conversation (a channel or a direct-message group): its deletion removes the subscriptions
    channel_id = ObjectIdField(db_field="channelId")
    subscribed_at = DateTimeField(default=utcnow, db_field="subscribedAt")
