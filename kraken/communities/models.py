"""The Community document."""
from __future__ import annotations

from mongoengine import DateTimeField, Document, ObjectIdField, StringField

from kraken.common.time import utcnow


class Community(Document):
    meta = {"collection": "communities",
            "indexes": [{"fields": ["name_key"], "unique": True}]}

    name = StringField(required=True, max_length=100)
    # lowercased name: community names are unique instance-wide, case-insensitively
    name_key = StringField(required=True, db_field="nameKey")
    description = StringField(max_length=500)
    avatar = StringField(max_length=2048)
    banner = StringField(max_length=2048)
    created_by_id = ObjectIdField(db_field="createdById")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
