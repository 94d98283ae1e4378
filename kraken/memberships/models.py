"""Community membership."""
from __future__ import annotations

import zlib

from mongoengine import BinaryField, DateTimeField, Document, IntField, ObjectIdField, StringField

from kraken.common.time import utcnow


class Membership(Document):
    meta = {"collection": "memberships",
            "indexes": [{"fields": ["user_id", "community_id"], "unique": True},
                        {"fields": ["community_id", "joined_at"]}]}

    user_id = ObjectIdField(required=True, db_field="userId")
    community_id = ObjectIdField(required=True, db_field="communityId")
    joined_at = DateTimeField(default=utcnow, db_field="joinedAt")
    # the member's line in the community's MemberDirectory as last written (kraken.memberships.directory):
    # a user write that leaves it unchanged rewrites no directory
    name_key = StringField(db_field="nameKey")


class MemberDirectory(Document):
    """One document per community, keyed by its id: its members' search names, one line each
    (`username \x1f lower-cased display name \x1f user id`), sorted by username, in one zlib-compressed
    string. Member search reads it by `_id` (the only look-up the default store serves) and matches in
    memory; one compressed value decodes far faster than 10,000 documents or array items (decision 0056)."""
    meta = {"collection": "member_directories"}

    id = ObjectIdField(primary_key=True)  # the community's id
    v = IntField(default=0)               # bumped by every write: the compare-and-set of writers
    data = BinaryField(db_field="z")      # zlib of the lines joined by "\n"

    @property
    def text(self) -> str:
        return unpack(self.data)


def pack(text: str) -> bytes:
    return zlib.compress(text.encode(), 6)


def unpack(data: bytes | None) -> str:
    return zlib.decompress(data).decode() if data else ""
