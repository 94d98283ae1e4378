"""Alias (mention) groups: a named set of a community's members that an `ALIAS_MENTION` span notifies."""
from __future__ import annotations

from mongoengine import DateTimeField, Document, ObjectIdField, StringField

from kraken.common.time import utcnow


class AliasGroup(Document):
    meta = {"collection": "alias_groups",
            "indexes": [{"fields": ["community_id", "name"], "unique": True}]}

    name = StringField(required=True, max_length=50)
    community_id = ObjectIdField(required=True, db_field="communityId")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")


class AliasGroupMember(Document):
    """One member of one group; `community_id` repeats the group's so a community's or a user's
    groups are read by equality."""
    meta = {"collection": "alias_group_members",
            "indexes": [{"fields": ["alias_group_id", "user_id"], "unique": True},
                        {"fields": ["user_id"]},
                        {"fields": ["community_id"]}]}

    alias_group_id = ObjectIdField(required=True, db_field="aliasGroupId")
    user_id = ObjectIdField(required=True, db_field="userId")
    community_id = ObjectIdField(required=True, db_field="communityId")
