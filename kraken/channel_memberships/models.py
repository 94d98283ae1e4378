"""Private-channel membership (public channels need none: every community member may enter)."""
from __future__ import annotations

from mongoengine import DateTimeField, Document, ObjectIdField

from kraken.common.time import utcnow


class ChannelMembership(Document):
    meta = {"collection": "channel_memberships",
            "indexes": [{"fields": ["user_id", "channel_id"], "unique": True},
                        {"fields": ["channel_id", "joined_at"]},
                        {"fields": ["community_id", "user_id"]}]}

    user_id = ObjectIdField(required=True, db_field="userId")
    channel_id = ObjectIdField(required=True, db_field="channelId")
    community_id = ObjectIdField(required=True, db_field="communityId")  # for per-community clean-up
    joined_at = DateTimeField(default=utcnow, db_field="joinedAt")
    added_by = ObjectIdField(db_field="addedBy")
