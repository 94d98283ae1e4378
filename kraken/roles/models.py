"""Roles (per community, or instance-wide) and their assignments to users."""
from __future__ import annotations

from mongoengine import BooleanField, DateTimeField, Document, ListField, ObjectIdField, StringField

from kraken.common.time import utcnow


class Role(Document):
    meta = {"collection": "roles",
            "indexes": [{"fields": ["community_id", "name"], "unique": True}]}

    name = StringField(required=True, max_length=50)
    community_id = ObjectIdField(db_field="communityId")  # None for instance roles
    actions = ListField(StringField())
    is_default = BooleanField(default=False, db_field="isDefault")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")


class UserRole(Document):
    meta = {"collection": "user_roles",
            "indexes": [{"fields": ["user_id", "role_id"], "unique": True},
                        {"fields": ["user_id", "community_id"]},
                        {"fields": ["role_id"]},
                        {"fields": ["community_id"]}]}

    user_id = ObjectIdField(required=True, db_field="userId")
    role_id = ObjectIdField(required=True, db_field="roleId")
    community_id = ObjectIdField(db_field="communityId")  # None for instance roles
    is_instance_role = BooleanField(default=False, db_field="isInstanceRole")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
