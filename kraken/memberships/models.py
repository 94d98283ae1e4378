"""Community membership."""
from __future__ import annotations

from mongoengine import DateTimeField, Document, ObjectIdField

from kraken.common.time import utcnow


class Membership(Document):
    meta = {"collection": "memberships",
            "indexes": [{"fields": ["user_id", "community_id"], "unique": True},
                        {"fields": ["community_id", "joined_at"]}]}

    user_id = ObjectIdField(required=True, db_field="userId")
    community_id = ObjectIdField(required=True, db_field="communityId")
    joined_at = DateTimeField(default=utcnow, db_field="joinedAt")
