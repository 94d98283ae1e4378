"""The Invite document: instance invites (registration) and community invites."""
from __future__ import annotations

from mongoengine import BooleanField, DateTimeField, Document, IntField, ListField, ObjectIdField, StringField

from kraken.common.time import utcnow

SCOPES = ("INSTANCE", "COMMUNITY")


class Invite(Document):
    meta = {
        "collection": "invites",
        "indexes": [
            {"fields": ["code"], "unique": True},
            {"fields": ["scope", "community_ids", "-created_at"]},
        ],
    }

    code = StringField(required=True, max_length=64)
    scope = StringField(required=True, choices=SCOPES, default="INSTANCE")
    created_by_id = ObjectIdField(db_field="createdById")
    community_ids = ListField(ObjectIdField(), db_field="defaultCommunityId")
    max_uses = IntField(min_value=1, db_field="maxUses")
    # Uses left for a limited invite, decremented by the same conditional update
    # that counts a use, so `uses` can never pass `maxUses` (no $expr needed).
    remaining = IntField()
    uses = IntField(default=0)
    valid_until = DateTimeField(db_field="validUntil")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
    used_by_ids = ListField(ObjectIdField(), db_field="usedByIds")
    disabled = BooleanField(default=False)  # set by an admin; a used-up invite is shown disabled too

    @property
    def exhausted(self) -> bool:
        return self.max_uses is not None and (self.remaining or 0) <= 0
