"""Who is told about a stored message, and telling them, after the send's ack (HF §3.3;
docs/decisions/0059-notifications.md).

`message_stored` (every send: socket, REST, DM, thread reply; decision 0013) starts the fan-out in a
background task of the sending process (`background.soon`), so a send's ack never waits for it, however
many readers an `@channel` reaches. The rows are inserted with `insert_many` in batches of `BATCH`; after
each batch every recipient's room gets its `newNotification` (each payload names its own row: one queue
message per batch, `publish_each`) and `notification_created` is sent for each (web push), then the task yields
to the process's other greenlets. Recipients in do-not-disturb get the row only.
"""
from __future__ import annotations

import logging
from datetime import datetime

from bson import ObjectId

from kraken import domain
from kraken.alias_groups.lookups import groups_in_community, member_ids
from kraken.channels.models import Channel
from kraken.common.lookups import each
from kraken.common.time import utcnow
from kraken.direct_messages.models import DirectMessageMembership
from kraken.memberships.models import Membership
from kraken.messages.models import Message
from kraken.notifications.models import (ChannelNotificationOverride, Notification, UserNotificationSettings,
                                         row)
from kraken.notifications.schemas import live_out
from kraken.presence import service as presence
from kraken.rbac import private_channel_entrants
from kraken.realtime import background, names
from kraken.realtime.publish import publish_each
from kraken.realtime.rooms import user_room
from kraken.threads.models import ThreadSubscriber
from kraken.users.models import User
from kraken.extensions import socketio

log = logging.getLogger("kraken.notifications")
# rows per insert_many, and events per queue message, between two yields: the default store runs one write
# at a time, so a smaller batch lets the sends of the same moment in sooner (FerretDB writes 100 rows per
# SQL INSERT anyway)
BATCH = 100
CHANNEL_MESSAGE_LIMIT = 500  # a public channel of a bigger community notifies no plain messages (HF §3.3)
FEW = 50  # a public channel's readers are checked one by one up to this many users, else listed


def _get(span, field: str):
    return span.get(field) if isinstance(span, dict) else getattr(span, field, None)


def _settings(query: dict) -> list[dict]:
    return list(UserNotificationSettings._get_collection().find(query))


def dnd_active(settings: dict, now: datetime) -> bool:
    """Do-not-disturb is on, or `now` (UTC) is inside the user's window [start, end) (overnight when start > end)."""
    if settings.get("doNotDisturb"):
        return True
    start, end = settings.get("dndStartTime"), settings.get("dndEndTime")
    if not start or not end or start == end:
        return False
    clock = now.strftime("%H:%M")
    return start <= clock < end if start < end else (clock >= start or clock < end)


def quiet_users(user_ids: set[str]) -> set[str]:
    """Those of `user_ids` in do-not-disturb now (one equality: the users who set any)."""
    now = utcnow()
    return {str(s["_id"]) for s in _settings({"dndAny": True}) if str(s["_id"]) in user_ids and dnd_active(s, now)}


class _Readers:
    """Who may read a channel (its room's population: public, the community's members; private, its
    entrants), listed once when needed, else checked user by user."""

    def __init__(self, channel: Channel) -> None:
        self.channel, self._all = channel, None

    def all(self) -> set[str]:
        if self._all is None:
            if self.channel.is_private:
                self._all = private_channel_entrants(self.channel)
            else:  # plain rows, no MongoEngine document per member (a community may have thousands)
                self._all = {str(d["userId"]) for d in Membership._get_collection().find(
                    {"communityId": self.channel.community_id}, {"userId": 1, "_id": 0})}
        return self._all

    def among(self, user_ids: set[str]) -> set[str]:
        if not user_ids:
            return set()
        if self._all is None and not self.channel.is_private and len(user_ids) <= FEW:
            ids = sorted(user_ids)
            found = each(lambda u: Membership.objects(user_id=u, community_id=self.channel.community_id).count(), ids)
            return {u for u, n in zip(ids, found) if n}
        return user_ids & self.all()


def _channel_targets(message: Message, channel: Channel) -> tuple[list[tuple[str, str]], _Readers]:
    """[(recipient, type)] of a root channel message."""
    author = str(message.author_id)
    readers = _Readers(channel)
    users = {str(_get(s, "userId")) for s in message.spans if _get(s, "type") == "USER_MENTION" and _get(s, "userId")}
    specials = {_get(s, "specialKind") for s in message.spans if _get(s, "type") == "SPECIAL_MENTION"}
    alias_ids = {_get(s, "aliasId") for s in message.spans if _get(s, "type") == "ALIAS_MENTION" and _get(s, "aliasId")}
    mentioned: set[str] = set()
    if "channel" in specials:
        mentioned |= readers.all()
    elif "here" in specials:
        mentioned |= readers.all() & set(presence.online_users())
    if alias_ids:
        oids = {ObjectId(a) for a in alias_ids if ObjectId.is_valid(str(a))}
        users |= {str(u) for u in member_ids(groups_in_community(channel.community_id, oids))}
    mentioned |= readers.among(users - mentioned)
    mentioned.discard(author)

    overrides = {str(o["userId"]): o["level"] for o in ChannelNotificationOverride._get_collection().find(
        {"channelId": channel.id}, {"userId": 1, "level": 1})}
    # who muted every channel matters only to a message that mentions someone (most sends mention nobody)
    default_none = {str(s["_id"]) for s in _settings({"defaultChannelLevel": "none"})} if mentioned else set()
    targets = [(u, "USER_MENTION") for u in mentioned
               if overrides.get(u, "none" if u in default_none else "mentions") != "none"]
    default_all = {str(s["_id"]) for s in _settings({"defaultChannelLevel": "all"})}
    wants_all = ({u for u, level in overrides.items() if level == "all"} | (default_all - set(overrides))) - mentioned
    wants_all.discard(author)
    # who wants every message is usually nobody: the community's size is counted only when someone does
    if wants_all and (channel.is_private or Membership.objects(community_id=channel.community_id).count()
                      <= CHANNEL_MESSAGE_LIMIT):
        targets.extend((user, "CHANNEL_MESSAGE") for user in readers.among(wants_all))
    return targets, readers


def _no_dm(user_ids: set[str]) -> set[str]:
    """Those of `user_ids` who turned direct-message notifications off (one `_id` look-up each: a group is small)."""
    ids = sorted(user_ids)
    found = each(lambda u: UserNotificationSettings._get_collection().find_one(
        {"_id": ObjectId(u)}, {"dmNotifications": 1}), ids)
    return {u for u, s in zip(ids, found) if s is not None and s.get("dmNotifications") is False}


def _dm_members(group_id) -> set[str]:
    return {str(u) for u in DirectMessageMembership.objects(group_id=group_id).scalar("user_id")}


def targets_of(message: Message) -> tuple[list[tuple[str, str]], Channel | None]:
    """[(recipient, type)] for a stored message, and its channel (None in a DM)."""
    author = str(message.author_id)
    channel = None if message.channel_id is None else Channel.objects(id=message.channel_id).first()
    if message.channel_id is not None and channel is None:
        return [], None  # removed meanwhile
    if message.parent_message_id is not None:  # a thread reply: its subscribers (mentions are not processed)
        followers = {str(u) for u in ThreadSubscriber.objects(parent_message_id=message.parent_message_id)
                     .scalar("user_id")} - {author}
        if channel is None:
            followers &= _dm_members(message.direct_message_group_id)
            followers -= _no_dm(followers)
        else:
            followers = _Readers(channel).among(followers)
        return [(u, "THREAD_REPLY") for u in followers], channel
    if channel is None:
        others = _dm_members(message.direct_message_group_id) - {author}
        return [(u, "DIRECT_MESSAGE") for u in others - _no_dm(others)], None
    return _channel_targets(message, channel)[0], channel


def deliver(rows: list[dict], author: dict | None, message: dict | None, channel_name: str | None) -> None:
    """Store the rows in batches; after each batch, publish `newNotification` to each recipient not in
    do-not-disturb and send `notification_created` for it."""
    quiet = quiet_users({str(r["userId"]) for r in rows})
    collection = Notification._get_collection()
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        collection.insert_many(batch, ordered=False)
        live = [doc for doc in batch if str(doc["userId"]) not in quiet]
        publish_each(names.NEW_NOTIFICATION,
                     [(user_room(doc["userId"]), live_out(doc, author, message, channel_name)) for doc in live])
        if domain.notification_created.receivers:
            for doc in live:
                domain.notification_created.send(Notification._from_son(doc))
        socketio.sleep(0)  # the process's other greenlets (the sender's next acks) go first


def author_doc(author_id) -> dict | None:
    return User._get_collection().find_one({"_id": author_id}, {"username": 1, "displayName": 1, "avatarUrl": 1})


def fan_out(message: Message) -> int:
    """Notify everyone a stored message should notify; returns how many rows were stored."""
    targets, channel = targets_of(message)
    if not targets:
        return 0
    now = utcnow()
    root_id = message.parent_message_id
    rows = [row(ObjectId(user), kind, message.author_id, message_id=message.id, channel_id=message.channel_id,
                community_id=None if channel is None else channel.community_id,
                group_id=message.direct_message_group_id, parent_message_id=root_id, created_at=now)
            for user, kind in targets]
    ref = {"_id": message.id, "spans": list(message.spans), "channelId": message.channel_id,
           "directMessageGroupId": message.direct_message_group_id}
    deliver(rows, author_doc(message.author_id), ref, None if channel is None else channel.name)
    if not Message.objects(id=message.id).count():  # deleted while we stored: its clean-up may have run first
        Notification._get_collection().delete_many({"messageId": message.id})
    return len(rows)


def _message_stored(message: Message) -> None:
    if message.seq is not None:
        background.soon(fan_out, message)


def init_app() -> None:
    domain.connect(domain.message_stored, _message_stored)
