"""Notification rows, each user's notification settings and per-channel overrides (HF §3.1;
docs/decisions/0059-notifications.md).

Every hot read is one top-level equality on an indexed field (decision 0033): a user's list by
`userId`, the unread count by `unreadFor` (the recipient's id while unread, absent once read: the
count is exact by construction, no counter to keep in step), clean-ups by `messageId`,
`parentMessageId`, `channelId`, `communityId`, `directMessageGroupId`, and a deleted user's rows by
`userId` (notifications, overrides) or `_id` (settings).
"""
from __future__ import annotations

from bson import ObjectId
from mongoengine import BooleanField, DateTimeField, Document, ObjectIdField, StringField

from kraken.common.time import utcnow

TYPES = ("USER_MENTION", "SPECIAL_MENTION", "DIRECT_MESSAGE", "CHANNEL_MESSAGE", "THREAD_REPLY")
LEVELS = ("all", "mentions", "none")
SOUNDS = ("default", "mention", "dm")


class Notification(Document):
    meta = {"collection": "notifications",
            "indexes": [{"fields": ["user_id", "-created_at"]},
                        {"fields": ["unread_for", "-created_at"], "sparse": True},
                        {"fields": ["message_id"], "sparse": True},
                        {"fields": ["parent_message_id"], "sparse": True},
                        {"fields": ["channel_id"], "sparse": True},
                        {"fields": ["community_id"], "sparse": True},
                        {"fields": ["direct_message_group_id"], "sparse": True}]}

    user_id = ObjectIdField(required=True, db_field="userId")  # the recipient
    type = StringField(required=True, choices=TYPES)
    message_id = ObjectIdField(db_field="messageId")
    channel_id = ObjectIdField(db_field="channelId")
    community_id = ObjectIdField(db_field="communityId")
    direct_message_group_id = ObjectIdField(db_field="directMessageGroupId")
    author_id = ObjectIdField(required=True, db_field="authorId")
    parent_message_id = ObjectIdField(db_field="parentMessageId")  # a THREAD_REPLY's thread root
    read = BooleanField(default=False)
    unread_for = ObjectIdField(db_field="unreadFor")  # = user_id while unread, absent once read
    dismissed = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow, db_field="createdAt")


def row(user_id, type_: str, author_id, *, message_id=None, channel_id=None, community_id=None,
        group_id=None, parent_message_id=None, created_at=None) -> dict:
    """A notification document as inserted (insert_many in batches, without MongoEngine per row)."""
    doc = {"_id": ObjectId(), "userId": user_id, "type": type_, "authorId": author_id, "read": False,
           "unreadFor": user_id, "dismissed": False, "createdAt": created_at or utcnow()}
    for key, value in (("messageId", message_id), ("channelId", channel_id), ("communityId", community_id),
                       ("directMessageGroupId", group_id), ("parentMessageId", parent_message_id)):
        if value is not None:
            doc[key] = value
    return doc


class UserNotificationSettings(Document):
    """One per user, `_id` = the user's id, created with the defaults by the first read. The
    non-default choices the fan-out asks about are indexed so it reads who made them by equality."""

    meta = {"collection": "notification_settings",
            "indexes": [{"fields": ["default_channel_level"]}, {"fields": ["dm_notifications"]},
                        {"fields": ["dnd_any"]}]}
    id = ObjectIdField(primary_key=True)
    desktop_enabled = BooleanField(default=True, db_field="desktopEnabled")
    play_sound = BooleanField(default=True, db_field="playSound")
    sound_type = StringField(default="default", choices=SOUNDS, db_field="soundType")
    do_not_disturb = BooleanField(default=False, db_field="doNotDisturb")
    dnd_start_time = StringField(db_field="dndStartTime")
    dnd_end_time = StringField(db_field="dndEndTime")
    # do-not-disturb on, or a window set: the fan-out reads these users with one equality
    dnd_any = BooleanField(default=False, db_field="dndAny")
    default_channel_level = StringField(default="mentions", choices=LEVELS, db_field="defaultChannelLevel")
    dm_notifications = BooleanField(default=True, db_field="dmNotifications")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
    updated_at = DateTimeField(default=utcnow, db_field="updatedAt")


def override_key(user_id: object, channel_id: object) -> str:
    return f"{user_id}:{channel_id}"


class ChannelNotificationOverride(Document):
    """A user's level for one channel, `_id` = "<userId>:<channelId>" (one per pair, upserted)."""

    # by channel: a deleted channel's overrides; by user: a deleted user's (kraken.admin)
    meta = {"collection": "notification_overrides", "indexes": [{"fields": ["channel_id"]}, {"fields": ["user_id"]}]}
    id = StringField(primary_key=True)
    oid = ObjectIdField(required=True)  # the id the client sees
    user_id = ObjectIdField(required=True, db_field="userId")
    channel_id = ObjectIdField(required=True, db_field="channelId")
    level = StringField(required=True, choices=LEVELS)
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
    updated_at = DateTimeField(default=utcnow, db_field="updatedAt")
