"""The moderation log (KLE §13): one entry per moderation action, written by the feature that acted
(moderation, pins); read by `GET /api/moderation/logs/:communityId`, never edited through the API."""
from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum

from mongoengine import BooleanField, DateTimeField, DictField, Document, ObjectIdField, StringField

from kraken.common.time import utcnow


class ModerationAction(str, Enum):
    BAN_USER = "BAN_USER"
    UNBAN_USER = "UNBAN_USER"
    KICK_USER = "KICK_USER"
    TIMEOUT_USER = "TIMEOUT_USER"
    REMOVE_TIMEOUT = "REMOVE_TIMEOUT"
    DELETE_MESSAGE = "DELETE_MESSAGE"
    PIN_MESSAGE = "PIN_MESSAGE"
    UNPIN_MESSAGE = "UNPIN_MESSAGE"


class ModerationLog(Document):
    meta = {"collection": "moderation_logs",
            "indexes": [{"fields": ["community_id", "-created_at"]}]}

    community_id = ObjectIdField(required=True, db_field="communityId")
    moderator_id = ObjectIdField(db_field="moderatorId")
    target_user_id = ObjectIdField(db_field="targetUserId")
    target_message_id = ObjectIdField(db_field="targetMessageId")
    action = StringField(required=True, choices=[a.value for a in ModerationAction])
    reason = StringField(max_length=500)
    metadata = DictField()
    created_at = DateTimeField(default=utcnow, db_field="createdAt")


def record(community_id, moderator_id, action: ModerationAction, *, target_user_id=None, target_message_id=None,
           reason: str | None = None, metadata: dict | None = None) -> ModerationLog:
    """Write one log entry (after the action it records succeeded)."""
    return ModerationLog(community_id=community_id, moderator_id=moderator_id, action=action.value,
                         target_user_id=target_user_id, target_message_id=target_message_id, reason=reason,
                         metadata=metadata or {}).save(force_insert=True)


def member_key(community_id: object, user_id: object) -> str:
    """The `_id` of a ban or a timeout: one per (community, user), read by one `_id` look-up."""
    return f"{community_id}:{user_id}"


class CommunityBan(Document):
    """A user banned from a community (KLE §13), `_id` = "<communityId>:<userId>": a second ban of the
    same user is a duplicate key, so of two concurrent bans one wins. An unban keeps the record
    (`active` false); a ban past `expires_at` is over when read (no job lifts it)."""

    # by community: its list and its deletion; by user: a deleted account's (kraken.admin)
    meta = {"collection": "community_bans", "indexes": [{"fields": ["community_id"]}, {"fields": ["user_id"]}]}
    id = StringField(primary_key=True)
    community_id = ObjectIdField(required=True, db_field="communityId")
    user_id = ObjectIdField(required=True, db_field="userId")
    moderator_id = ObjectIdField(db_field="moderatorId")
    reason = StringField(max_length=500)
    expires_at = DateTimeField(db_field="expiresAt")  # None: permanent
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow, db_field="createdAt")

    def in_force(self, now) -> bool:
        return bool(self.active) and (self.expires_at is None or _aware(self.expires_at) > now)


class CommunityTimeout(Document):
    """A member who may not send, edit or react in a community until `expires_at` (KLE §13), `_id` =
    "<communityId>:<userId>" (a new timeout replaces the old). Enforced through the permission answer
    (kraken.rbac.grants), which is computed from this document and made stale by its writes."""

    meta = {"collection": "community_timeouts", "indexes": [{"fields": ["community_id"]}, {"fields": ["user_id"]}]}
    id = StringField(primary_key=True)
    community_id = ObjectIdField(required=True, db_field="communityId")
    user_id = ObjectIdField(required=True, db_field="userId")
    moderator_id = ObjectIdField(db_field="moderatorId")
    reason = StringField(max_length=500)
    expires_at = DateTimeField(required=True, db_field="expiresAt")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def ban_in_force(community_id: object, user_id: object) -> CommunityBan | None:
    """The user's ban from the community if it holds now (one `_id` look-up)."""
    ban = CommunityBan.objects(id=member_key(community_id, user_id)).first()
    return ban if ban is not None and ban.in_force(utcnow()) else None


def timeout_until(community_id: object, user_id: object) -> datetime | None:
    """When the user's timeout in the community ends, if there is one (past or not)."""
    timeout = CommunityTimeout.objects(id=member_key(community_id, user_id)).only("expires_at").first()
    return None if timeout is None else _aware(timeout.expires_at)
