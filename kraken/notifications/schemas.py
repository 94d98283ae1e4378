"""Notification requests and responses (HF §3.2, §3.4)."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from kraken.common.time import iso
from kraken.common.validation import RequestModel

Level = Literal["all", "mentions", "none"]
Type = Literal["USER_MENTION", "SPECIAL_MENTION", "DIRECT_MESSAGE", "CHANNEL_MESSAGE", "THREAD_REPLY"]
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ListQuery(RequestModel):
    """`unreadOnly` is true only for "true" or "1" (the reference coerced "false" to true, HF §3.2)."""

    unreadOnly: str | None = None
    limit: int = Field(50, ge=1, le=100)
    offset: int = Field(0, ge=0)

    @property
    def unread_only(self) -> bool:
        return (self.unreadOnly or "").strip().lower() in ("true", "1")


class SettingsIn(RequestModel):
    desktopEnabled: bool | None = None
    playSound: bool | None = None
    soundType: Literal["default", "mention", "dm"] | None = None
    doNotDisturb: bool | None = None
    dndStartTime: str | None = None
    dndEndTime: str | None = None
    defaultChannelLevel: Level | None = None
    dmNotifications: bool | None = None

    @field_validator("dndStartTime", "dndEndTime")
    @classmethod
    def _hhmm(cls, value: str | None, info) -> str | None:
        if value is not None and not HHMM.match(value):
            raise ValueError(f"{info.field_name} must be in HH:mm format (24-hour)")
        return value


class OverrideIn(RequestModel):
    level: Level


class SendTestIn(RequestModel):
    type: Type
    customMessage: str | None = Field(None, max_length=2000)  # accepted and ignored, as the reference


def _id(value) -> str | None:
    return None if value is None else str(value)


def row_out(doc: dict) -> dict:
    """The bare Notification row (`/read`, `/dismiss`)."""
    return {"id": str(doc["_id"]), "userId": str(doc["userId"]), "type": doc["type"],
            "messageId": _id(doc.get("messageId")), "channelId": _id(doc.get("channelId")),
            "directMessageGroupId": _id(doc.get("directMessageGroupId")), "authorId": str(doc["authorId"]),
            "parentMessageId": _id(doc.get("parentMessageId")), "read": bool(doc.get("read")),
            "dismissed": bool(doc.get("dismissed")), "createdAt": iso(doc.get("createdAt"))}


def author_out(user) -> dict | None:
    if user is None:
        return None
    return {"id": str(user["_id"]), "username": user.get("username"), "displayName": user.get("displayName"),
            "avatarUrl": user.get("avatarUrl")}


def message_ref_out(message: dict | None) -> dict | None:
    if message is None:
        return None
    return {"id": str(message["_id"]), "spans": message.get("spans") or [],
            "channelId": _id(message.get("channelId")),
            "directMessageGroupId": _id(message.get("directMessageGroupId"))}


def dto_out(doc: dict, author, message, community_id) -> dict:
    """A listed NotificationDto: the row, its author, its message and its channel's community."""
    return {**row_out(doc), "author": author_out(author), "message": message_ref_out(message),
            "channel": None if doc.get("channelId") is None or community_id is None
            else {"communityId": str(community_id)},
            "communityId": _id(community_id)}


def live_out(doc: dict, author: dict | None, message: dict | None, channel_name: str | None) -> dict:
    """`newNotification`'s payload (HF §3.4: no parentMessageId, no dismissed)."""
    return {"notificationId": str(doc["_id"]), "type": doc["type"], "messageId": _id(doc.get("messageId")),
            "channelId": _id(doc.get("channelId")), "communityId": _id(doc.get("communityId")),
            "channelName": channel_name, "directMessageGroupId": _id(doc.get("directMessageGroupId")),
            "authorId": str(doc["authorId"]), "author": author_out(author), "message": message_ref_out(message),
            "createdAt": iso(doc.get("createdAt")), "read": False}


def settings_out(s) -> dict:
    return {"id": str(s.id), "userId": str(s.id), "desktopEnabled": s.desktop_enabled, "playSound": s.play_sound,
            "soundType": s.sound_type, "doNotDisturb": s.do_not_disturb, "dndStartTime": s.dnd_start_time,
            "dndEndTime": s.dnd_end_time, "defaultChannelLevel": s.default_channel_level,
            "dmNotifications": s.dm_notifications, "createdAt": iso(s.created_at), "updatedAt": iso(s.updated_at)}


def override_out(o) -> dict:
    return {"id": str(o.oid), "userId": str(o.user_id), "channelId": str(o.channel_id), "level": o.level,
            "createdAt": iso(o.created_at), "updatedAt": iso(o.updated_at)}


# Response shapes, for the OpenAPI document (kraken.openapi_spec); the serialisers above build them.
class NotificationRowOut(BaseModel):
    id: str
    userId: str
    type: Type
    messageId: str | None
    channelId: str | None
    directMessageGroupId: str | None
    authorId: str
    parentMessageId: str | None
    read: bool
    dismissed: bool
    createdAt: str


class AuthorOut(BaseModel):
    id: str
    username: str | None
    displayName: str | None
    avatarUrl: str | None


class MessageRefOut(BaseModel):
    id: str
    spans: list[dict]
    channelId: str | None
    directMessageGroupId: str | None


class ChannelRefOut(BaseModel):
    communityId: str


class NotificationOut(NotificationRowOut):
    author: AuthorOut | None
    message: MessageRefOut | None
    channel: ChannelRefOut | None
    communityId: str | None


class NotificationListOut(BaseModel):
    """`total` is this page's length; `unreadCount` every unread notification of the caller."""

    notifications: list[NotificationOut]
    total: int
    unreadCount: int


class CountOut(BaseModel):
    count: int


class SettingsOut(BaseModel):
    id: str
    userId: str
    desktopEnabled: bool
    playSound: bool
    soundType: Literal["default", "mention", "dm"]
    doNotDisturb: bool
    dndStartTime: str | None
    dndEndTime: str | None
    defaultChannelLevel: Level
    dmNotifications: bool
    createdAt: str
    updatedAt: str


class OverrideOut(BaseModel):
    id: str
    userId: str
    channelId: str
    level: Level
    createdAt: str
    updatedAt: str


class SendTestOut(BaseModel):
    success: bool
    notification: NotificationRowOut
    message: str


class ClearAllOut(BaseModel):
    success: bool
    notificationsDeleted: int
    settingsDeleted: int
    overridesDeleted: int
    message: str
