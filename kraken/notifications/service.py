"""Notifications for their recipient: the list, counts, read/dismiss/delete, settings and per-channel
overrides, the owner's debug helpers, and the clean-ups that remove notifications with what they point
at (HF §3.2; docs/decisions/0059-notifications.md). Fan-out: kraken.notifications.fanout."""
from __future__ import annotations

from bson import ObjectId
from pymongo import ReturnDocument

from kraken import domain
from kraken.common.lookups import each
from kraken.common.time import utcnow
from kraken.errors import ForbiddenError, NotFoundError
from kraken.messages.models import Message
from kraken.notifications import fanout
from kraken.notifications.models import (ChannelNotificationOverride, Notification, UserNotificationSettings,
                                         override_key, row)
from kraken.notifications.schemas import SettingsIn, dto_out, row_out
from kraken.rbac import is_owner, visible_channel
from kraken.realtime import names
from kraken.realtime.publish import publish
from kraken.realtime.rooms import user_room
from kraken.users.models import User


def _rows():
    return Notification._get_collection()


def _oid(value) -> ObjectId | None:
    return ObjectId(value) if ObjectId.is_valid(str(value)) else None


def unread_count(actor) -> int:
    """Exact: the recipient's unread rows, counted by one equality on an indexed field."""
    return _rows().count_documents({"unreadFor": actor.id})


def _by_id(document, ids: set, fields: dict) -> dict:
    """{id: projected document} by one `_id` equality each, a few at a time (no `$in`: decision 0033)."""
    keys = sorted(ids)
    found = each(lambda i: document._get_collection().find_one({"_id": i}, fields), keys)
    return {k: f for k, f in zip(keys, found) if f is not None}


def list_for(actor, unread_only: bool, limit: int, offset: int) -> dict:
    """A page of the actor's notifications, newest first (dismissed ones included)."""
    query = {"unreadFor": actor.id} if unread_only else {"userId": actor.id}
    docs = list(_rows().find(query).sort([("createdAt", -1), ("_id", -1)]).skip(offset).limit(limit))
    authors = _by_id(User, {d["authorId"] for d in docs}, {"username": 1, "displayName": 1, "avatarUrl": 1})
    messages = _by_id(Message, {d["messageId"] for d in docs if d.get("messageId")},
                      {"spans": 1, "channelId": 1, "directMessageGroupId": 1})
    out = []
    for d in docs:
        community = d.get("communityId")
        out.append(dto_out(d, authors.get(d["authorId"]), messages.get(d.get("messageId")), community))
    return {"notifications": out, "total": len(out), "unreadCount": unread_count(actor)}


def mark_read(actor, notification_id: str) -> dict:
    """Raises NotFoundError (missing, or another user's). Tells the recipient's devices."""
    doc = _rows().find_one_and_update({"_id": _oid(notification_id), "userId": actor.id},
                                      {"$set": {"read": True}, "$unset": {"unreadFor": ""}},
                                      return_document=ReturnDocument.AFTER)
    if doc is None:
        raise NotFoundError("Notification not found")
    publish(names.NOTIFICATION_READ, {"notificationId": str(doc["_id"])}, user_room(actor.id))
    return row_out(doc)


def read_all(actor) -> int:
    """Marks every unread notification of the actor read; returns how many changed (no event)."""
    return _rows().update_many({"unreadFor": actor.id},
                               {"$set": {"read": True}, "$unset": {"unreadFor": ""}}).modified_count


def dismiss(actor, notification_id: str) -> dict:
    doc = _rows().find_one_and_update({"_id": _oid(notification_id), "userId": actor.id},
                                      {"$set": {"dismissed": True}}, return_document=ReturnDocument.AFTER)
    if doc is None:
        raise NotFoundError("Notification not found")
    return row_out(doc)


def delete(actor, notification_id: str) -> None:
    if not _rows().delete_one({"_id": _oid(notification_id), "userId": actor.id}).deleted_count:
        raise NotFoundError("Notification not found")


def settings_of(actor) -> UserNotificationSettings:
    """The actor's settings, created with the defaults by the first read (an idempotent upsert)."""
    now = utcnow()
    defaults = {f.db_field: f.default for name, f in UserNotificationSettings._fields.items()
                if name not in ("id", "created_at", "updated_at")}
    UserNotificationSettings._get_collection().update_one(
        {"_id": actor.id}, {"$setOnInsert": {**defaults, "createdAt": now, "updatedAt": now}}, upsert=True)
    return UserNotificationSettings.objects(id=actor.id).first()


def update_settings(actor, body: SettingsIn) -> UserNotificationSettings:
    current = settings_of(actor)
    changes = {UserNotificationSettings._fields[_FIELDS[k]].db_field: v
               for k, v in body.model_dump(exclude_unset=True).items()}
    merged = {"doNotDisturb": current.do_not_disturb, "dndStartTime": current.dnd_start_time,
              "dndEndTime": current.dnd_end_time, **changes}
    changes["dndAny"] = bool(merged["doNotDisturb"] or (merged["dndStartTime"] and merged["dndEndTime"]))
    changes["updatedAt"] = utcnow()
    UserNotificationSettings._get_collection().update_one({"_id": actor.id}, {"$set": changes})
    return UserNotificationSettings.objects(id=actor.id).first()


_FIELDS = {"desktopEnabled": "desktop_enabled", "playSound": "play_sound", "soundType": "sound_type",
           "doNotDisturb": "do_not_disturb", "dndStartTime": "dnd_start_time", "dndEndTime": "dnd_end_time",
           "defaultChannelLevel": "default_channel_level", "dmNotifications": "dm_notifications"}


def override_of(actor, channel_id: str) -> ChannelNotificationOverride | None:
    return ChannelNotificationOverride.objects(id=override_key(actor.id, channel_id)).first()


def set_override(actor, channel_id: str, level: str) -> ChannelNotificationOverride:
    """Upsert the actor's level for a channel they see; NotFoundError for a missing or invisible one."""
    channel = visible_channel(actor, channel_id)
    if channel is None:
        raise NotFoundError("Channel not found")
    now = utcnow()
    ChannelNotificationOverride._get_collection().update_one(
        {"_id": override_key(actor.id, channel.id)},
        {"$set": {"level": level, "updatedAt": now},
         "$setOnInsert": {"oid": ObjectId(), "userId": actor.id, "channelId": channel.id, "createdAt": now}},
        upsert=True)
    return override_of(actor, str(channel.id))


def delete_override(actor, channel_id: str) -> None:
    ChannelNotificationOverride.objects(id=override_key(actor.id, channel_id)).delete()


def _require_debug(actor) -> None:
    if not is_owner(actor):
        raise ForbiddenError("Debug endpoints are admin-only")


def send_test(actor, type_: str) -> dict:
    """OWNER only: a self-authored notification without a message, delivered like any other."""
    _require_debug(actor)
    doc = row(actor.id, type_, actor.id)
    fanout.deliver([doc], fanout.author_doc(actor.id), None, None)
    return {"success": True, "notification": row_out(doc), "message": f"Test {type_} notification created"}


def _forget(user_id) -> tuple[int, int, int]:
    """Delete a user's received notifications, settings and overrides (one indexed equality each);
    returns how many of each. The notifications they wrote stay with the messages they point at."""
    notifications = _rows().delete_many({"userId": user_id}).deleted_count
    settings = UserNotificationSettings._get_collection().delete_one({"_id": user_id}).deleted_count
    overrides = ChannelNotificationOverride._get_collection().delete_many({"userId": user_id}).deleted_count
    return notifications, settings, overrides


def clear_all(actor) -> dict:
    """OWNER only: deletes the caller's own notifications, settings and overrides."""
    _require_debug(actor)
    notifications, settings, overrides = _forget(actor.id)
    return {"success": True, "notificationsDeleted": notifications, "settingsDeleted": settings,
            "overridesDeleted": overrides, "message": "All notification data cleared"}


# Notifications go with what they point at (HF §3.1), and with a reader's access to it.
def _message_deleted(message) -> None:
    _rows().delete_many({"messageId": message.id})
    if message.parent_message_id is None:
        _rows().delete_many({"parentMessageId": message.id})  # its thread's replies went with it


def _channels_removing(community_id, *, channel_ids) -> None:
    for channel_id in channel_ids:  # one equality each
        _rows().delete_many({"channelId": channel_id})
        ChannelNotificationOverride._get_collection().delete_many({"channelId": channel_id})


def _community_removing(community_id, *, channel_ids) -> None:
    _rows().delete_many({"communityId": community_id})


def _member_left(community_id, *, user_id, **_) -> None:
    _rows().delete_many({"communityId": community_id, "userId": user_id})


def _channel_access_revoked(channel, *, user_id) -> None:
    _rows().delete_many({"channelId": channel.id, "userId": user_id})


def _dm_member_left(group_id, *, user_id) -> None:
    _rows().delete_many({"directMessageGroupId": group_id, "userId": user_id})


def _user_removing(user) -> None:
    _forget(user.id)


def init_app() -> None:
    fanout.init_app()
    for signal, receiver in ((domain.message_deleted, _message_deleted), (domain.channels_removing, _channels_removing),
                             (domain.community_removing, _community_removing), (domain.member_left, _member_left),
                             (domain.channel_access_revoked, _channel_access_revoked),
                             (domain.dm_member_left, _dm_member_left), (domain.user_removing, _user_removing)):
        domain.connect(signal, receiver)
