"""The Channel document: TEXT or VOICE, public or private, inside one community."""
from __future__ import annotations

from mongoengine import BooleanField, DateTimeField, Document, ObjectIdField, StringField

from kraken.common.time import utcnow

CHANNEL_TYPES = ("TEXT", "VOICE")


class Channel(Document):
    meta = {"collection": "channels",
            # exact names: a community gets both `general` (TEXT) and `General` (VOICE),
            # docs/decisions/0011-community-creation-and-deletion.md
            "indexes": [{"fields": ["community_id", "name"], "unique": True}]}

    name = StringField(required=True, max_length=100)
    community_id = ObjectIdField(required=True, db_field="communityId")
    type = StringField(required=True, choices=CHANNEL_TYPES, default="TEXT")
    is_private = BooleanField(default=False, db_field="isPrivate")
    description = StringField(max_length=1024)
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
