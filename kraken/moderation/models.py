"""The moderation log (KLE §13): one entry per moderation action, written by the feature that acted
(moderation, pins); read by `GET /api/moderation/logs/:communityId`, never edited through the API."""
from __future__ import annotations

from enum import Enum

from mongoengine import DateTimeField, DictField, Document, ObjectIdField, StringField

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
