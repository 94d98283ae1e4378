"""Friendships (one row per pair of users, whichever asked) and user blocks (one per direction)."""
from __future__ import annotations

from mongoengine import DateTimeField, Document, ObjectIdField, StringField

from kraken.common.time import utcnow

PENDING, ACCEPTED = "PENDING", "ACCEPTED"


def pair_key(one: object, other: object) -> str:
    """The pair's key, the same whichever of the two asks: the smaller id first."""
    low, high = sorted((str(one), str(other)))
    return f"{low}:{high}"


def block_key(blocker: object, blocked: object) -> str:
    return f"{blocker}:{blocked}"


class Friendship(Document):
    """`userA` asked `userB`. The unique `pairKey` (the ordered pair) holds in the database: of two
    requests racing between the same users, in either direction, one row is stored."""

    meta = {"collection": "friendships",
            "indexes": [{"fields": ["pair_key"], "unique": True}, {"fields": ["user_a_id"]},
                        {"fields": ["user_b_id"]}]}

    pair_key = StringField(required=True, db_field="pairKey")
    user_a_id = ObjectIdField(required=True, db_field="userAId")
    user_b_id = ObjectIdField(required=True, db_field="userBId")
    status = StringField(required=True, choices=(PENDING, ACCEPTED), default=PENDING)
    created_at = DateTimeField(default=utcnow, db_field="createdAt")

    def other(self, user_id: object):
        return self.user_b_id if str(self.user_a_id) == str(user_id) else self.user_a_id


class UserBlock(Document):
    """`blocker` blocked `blocked`; `_id` is `<blocker>:<blocked>`, so a repeated block is one row."""

    meta = {"collection": "user_blocks", "indexes": [{"fields": ["blocker_id"]}, {"fields": ["blocked_id"]}]}

    id = StringField(primary_key=True)
    blocker_id = ObjectIdField(required=True, db_field="blockerId")
    blocked_id = ObjectIdField(required=True, db_field="blockedId")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
