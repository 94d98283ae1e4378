"""Direct-message groups, their members (one keyed document per member, read by equality) and the
key that makes a 1:1 conversation unique. A DM's messages are ordinary Message documents with
`direct_message_group_id` set (kraken.messages.models numbers and buckets them per group)."""
from __future__ import annotations

from mongoengine import BooleanField, DateTimeField, Document, ObjectIdField, StringField

from kraken.common.time import utcnow


class DirectMessageGroup(Document):
    meta = {"collection": "direct_message_groups"}
    name = StringField(max_length=100)
    is_group = BooleanField(default=False, db_field="isGroup")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")


def membership_key(group_id: object, user_id: object) -> str:
    return f"{group_id}:{user_id}"


class DirectMessageMembership(Document):
    """One member of one group, `_id` = "<groupId>:<userId>": "is X a member" is one `_id` look-up, a
    second add of the same member is a duplicate key; "my groups" and "its members" are equalities on
    indexed fields (no `$in`, no scan: README "Storage")."""

    meta = {"collection": "dm_memberships", "indexes": [{"fields": ["user_id"]}, {"fields": ["group_id"]}]}
    id = StringField(primary_key=True)
    group_id = ObjectIdField(required=True, db_field="groupId")
    user_id = ObjectIdField(required=True, db_field="userId")
    joined_at = DateTimeField(default=utcnow, db_field="joinedAt")


def pair_key(user_a: object, user_b: object) -> str:
    return ":".join(sorted((str(user_a), str(user_b))))


class DirectPair(Document):
    """The one 1:1 conversation of two users, `_id` = their sorted ids: inserted with force_insert,
    so of two concurrent creations one wins and the other reads the winner's group."""

    meta = {"collection": "dm_pairs"}
    id = StringField(primary_key=True)
    group_id = ObjectIdField(required=True, db_field="groupId")
