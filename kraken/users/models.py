"""The User document."""
from __future__ import annotations

from mongoengine import BooleanField, DateTimeField, DictField, Document, IntField, ObjectIdField, StringField

from kraken.common.time import utcnow
from kraken.common.permissions import InstanceRole


class User(Document):
    meta = {
        "collection": "users",
        "indexes": [
            {"fields": ["username"], "unique": True},
            # Optional e-mail, unique when present (sparse: FerretDB lacks partial indexes).
            {"fields": ["email"], "unique": True, "sparse": True},
            # the instance owners (a handful) without reading every user
            {"fields": ["role"]},
            # the banned users (admin list filter) and the admin list's order on MongoDB
            {"fields": ["disabled"]},
            {"fields": ["-created_at"]},
        ],
    }

    username = StringField(required=True, max_length=32)  # stored lowercased
    email = StringField(max_length=254)  # stored lowercased, absent when not given
    hashed_password = StringField(required=True, db_field="hashedPassword")
    role = StringField(required=True, choices=[r.value for r in InstanceRole], default=InstanceRole.USER.value)
    verified = BooleanField(default=False)
    display_name = StringField(max_length=64, db_field="displayName")
    avatar_url = StringField(max_length=2048, db_field="avatarUrl")
    bio = StringField(max_length=500)
    status = StringField(max_length=128)
    preferences = DictField()
    last_seen = DateTimeField(db_field="lastSeen")
    disabled = BooleanField(default=False)  # banned (kraken-head-features §12.1 `banned`)
    banned_at = DateTimeField(db_field="bannedAt")
    banned_by_id = ObjectIdField(db_field="bannedById")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
    # storage (kraken.storage_quota): the quota, set from the instance default at creation, and the
    # bytes of the user's stored uploads, kept exact by conditional $inc (decision 0065)
    storage_quota_bytes = IntField(min_value=0, db_field="storageQuotaBytes")
    storage_used_bytes = IntField(default=0, db_field="storageUsedBytes")


SETUP_INVITE_MARKER = "setup-invite"  # the code of the setup invite logged at first start (kraken.bootstrap)


class InstanceMarker(Document):
    """Once-only facts about the instance, claimed with a unique `_id` insert (e.g. `owner`)."""

    meta = {"collection": "instance_markers"}

    id = StringField(primary_key=True)
    value = StringField()
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
