"""Voice presence: who is in which voice channel or DM call, for REST, Socket.IO and LiveKit's webhook.

Authorise, write to Redis (kraken.voice.store), then publish as the last step:
`voiceChannelUserJoined` / `voiceChannelUserLeft` / `voiceChannelUserUpdated` to the
`<channelId>` room that `joinAll` joins (docs/decisions/0019-voice-and-livekit.md, contract §6.5). Entries live
TTL seconds (90 by default) unless refreshed; expired ones are announced as left by
whoever notices first (a reader or the sweeper).

DM calls (docs/decisions/0048-dm-calls.md) keep the same entries in their own store, keyed by the
direct-message group (the LiveKit room is the group id), and announce to `dm:<groupId>`:
`dmVoiceCallStarted` for whoever opens the call, then `dmVoiceUserJoined` / `dmVoiceUserLeft`.
Membership of the group is the only permission.
"""
from __future__ import annotations

import logging
from typing import Iterable

from kraken.common.time import iso, utcnow
from kraken.errors import ValidationError
from kraken.rbac import Action, access_channel, access_dm_group
from kraken.realtime import background, names
from kraken.realtime.publish import publish
from kraken.realtime.rooms import channel_room, dm_room
from kraken.voice import store

log = logging.getLogger("kraken.voice")
TTL = 90  # replaced by settings.voice_presence_ttl in configure()
SWEEPER_TASK = "voice-presence-sweeper"


def configure(ttl: int) -> None:
    global TTL
    TTL = ttl


def require_voice(channel) -> None:
    """Raises ValidationError (400) unless `channel` is a VOICE channel."""
    if channel.type != "VOICE":
        raise ValidationError(["Channel is not a voice channel"], code="NOT_A_VOICE_CHANNEL")


def voice_user(user) -> dict:
    """A fresh VoicePresenceUser (contract §3.12): flags false, displayName/avatarUrl omitted when null."""
    entry: dict = {"id": str(user.id), "username": user.username}
    if user.display_name:
        entry["displayName"] = user.display_name
    if user.avatar_url:
        entry["avatarUrl"] = user.avatar_url
    entry.update(joinedAt=iso(utcnow()), **{flag: False for flag in store.FLAGS})
    return entry


# --- announcing ---------------------------------------------------------------------------

def _joined(cid: str, entry: dict) -> None:
    publish(names.VOICE_CHANNEL_USER_JOINED, {"channelId": cid, "user": entry}, channel_room(cid))


def _left(cid: str, entry: dict) -> None:
    publish(names.VOICE_CHANNEL_USER_LEFT, {"channelId": cid, "userId": entry["id"], "user": entry},
            channel_room(cid))


def _updated(cid: str, entry: dict, updates: dict) -> None:
    publish(names.VOICE_CHANNEL_USER_UPDATED, {"channelId": cid, "userId": entry["id"], "user": entry,
                                               "updates": updates}, channel_room(cid))


# --- without authorisation: LiveKit's webhook and clean-up hooks --------------------------

def register(user, channel_id: object) -> bool:
    """Record `user` in the channel (TTL refreshed if already there); True and
    `voiceChannelUserJoined` when they were not present."""
    background.start(SWEEPER_TASK)
    cid = str(channel_id)
    entry = voice_user(user)
    if store.CHANNELS.add(cid, str(user.id), entry, TTL) is None:
        return False
    _joined(cid, entry)
    return True


def unregister(user_id: object, channel_id: object) -> bool:
    """Remove a user's entry; True and `voiceChannelUserLeft` when there was one."""
    cid = str(channel_id)
    entry = store.CHANNELS.remove(cid, str(user_id))
    if entry is None:
        return False
    _left(cid, entry)
    return True


def set_flags(user_id: object, channel_id: object, updates: dict[str, bool]) -> dict | None:
    """Merge flags into a present user's entry and refresh its TTL; publishes
    `voiceChannelUserUpdated`. Returns the entry, or None when the user is not present."""
    cid = str(channel_id)
    entry = store.CHANNELS.update(cid, str(user_id), updates, TTL)
    if entry is not None and updates:
        _updated(cid, entry, updates)
    return entry


def clear_channel(channel_id: object) -> int:
    """Remove everyone from a channel (room finished, channel deleted); returns how many left."""
    return sum(unregister(uid, channel_id) for uid in store.CHANNELS.user_ids(str(channel_id)))


def in_voice(user_id: object) -> bool:
    """Whether the user has a voice-presence entry anywhere, channel or DM call (live or stale)."""
    return any(any(presence.rooms_of(str(user_id))) for presence in (store.CHANNELS, store.DM_CALLS))


def leave_all(user_id: object, channel_ids: Iterable[object] | None = None) -> int:
    """Remove a user from every voice channel (or only from `channel_ids`); returns how many."""
    uid = str(user_id)
    live, stale = store.CHANNELS.rooms_of(uid)
    wanted = None if channel_ids is None else {str(c) for c in channel_ids}
    return sum(unregister(uid, cid) for cid in live + stale if wanted is None or cid in wanted)


def _drop_stale(cid: str, user_ids: Iterable[str], presence: store.PresenceStore = store.CHANNELS) -> int:
    """Remove and announce the entries that expired (in a channel, or a DM call with `store.DM_CALLS`);
    returns how many this call removed."""
    announce = _dm_left if presence is store.DM_CALLS else _left
    removed = 0
    for uid in user_ids:
        if (entry := presence.prune(cid, uid)) is not None:
            announce(cid, entry)
            removed += 1
    return removed


def prune_channel(channel_id: object) -> list[dict]:
    """The channel's live entries, sorted by joinedAt; stale ones are removed and announced."""
    cid = str(channel_id)
    live, stale = store.CHANNELS.entries(cid)
    _drop_stale(cid, stale)
    return sorted(live, key=lambda e: (e.get("joinedAt", ""), e["id"]))


# --- the caller's own presence (REST and Socket.IO) ---------------------------------------

def _channel(actor, channel_id: object, action: Action):
    return access_channel(actor, channel_id, action, enter=True)


def channel_presence(actor, channel_id: object) -> list[dict]:
    """Who is in a channel the caller can read. Raises NotFoundError, ForbiddenError."""
    channel = _channel(actor, channel_id, Action.READ_CHANNEL)
    return prune_channel(channel.id)


def join(actor, channel_id: object) -> str:
    """The caller joins a VOICE channel (idempotent: a second join only refreshes the TTL).
    Raises NotFoundError, ForbiddenError, ValidationError (not a voice channel)."""
    channel = _channel(actor, channel_id, Action.JOIN_CHANNEL)
    require_voice(channel)
    register(actor, channel.id)
    return str(channel.id)


def leave(actor, channel_id: object) -> str:
    """The caller leaves (succeeds when absent too). Raises NotFoundError, ForbiddenError."""
    channel = _channel(actor, channel_id, Action.JOIN_CHANNEL)
    unregister(actor.id, channel.id)
    return str(channel.id)


def update_state(actor, channel_id: object, updates: dict[str, bool]) -> dict[str, bool]:
    """The caller's media flags; a no-op when absent. Returns the applied `updates`.
    Raises NotFoundError, ForbiddenError."""
    channel = _channel(actor, channel_id, Action.JOIN_CHANNEL)
    set_flags(actor.id, channel.id, updates)
    return updates


def refresh(actor, channel_id: object) -> bool:
    """Extend the caller's entry by TTL; False when they are not present.
    Raises NotFoundError, ForbiddenError."""
    channel = _channel(actor, channel_id, Action.JOIN_CHANNEL)
    background.start(SWEEPER_TASK)
    return store.CHANNELS.refresh(str(channel.id), str(actor.id), TTL)


def my_channels(user_id: object) -> list[str]:
    """Channel ids where the user is present; stale entries are removed and announced."""
    uid = str(user_id)
    live, stale = store.CHANNELS.rooms_of(uid)
    for cid in stale:
        _drop_stale(cid, [uid])
    return live


# --- DM calls (docs/decisions/0048-dm-calls.md) ------------------------------------------

def _starter(user) -> dict:
    return {"id": str(user.id), "username": user.username, "displayName": user.display_name,
            "avatarUrl": user.avatar_url}


def _dm_left(gid: str, entry: dict) -> None:
    publish(names.DM_VOICE_USER_LEFT, {"dmGroupId": gid, "userId": entry["id"], "user": entry}, dm_room(gid))


def register_in_call(user, group_id: object, *, deafened: bool = False) -> bool:
    """Record a member in the group's call (TTL refreshed if already there); True when they were not
    present. The first one in announces `dmVoiceCallStarted`, later ones `dmVoiceUserJoined`. No
    authorisation here: the webhook and refresh_call check membership first."""
    background.start(SWEEPER_TASK)
    gid = str(group_id)
    _drop_stale(gid, store.DM_CALLS.entries(gid)[1], store.DM_CALLS)  # expired members do not keep a call going
    entry = voice_user(user) | {"isDeafened": deafened}
    others = store.DM_CALLS.add(gid, str(user.id), entry, TTL)
    if others is None:
        return False
    if others == 0:
        publish(names.DM_VOICE_CALL_STARTED, {"dmGroupId": gid, "startedBy": str(user.id), "starter": _starter(user)},
                dm_room(gid))
    else:
        publish(names.DM_VOICE_USER_JOINED, {"dmGroupId": gid, "user": entry}, dm_room(gid))
    return True


def unregister_from_call(user_id: object, group_id: object) -> bool:
    """Remove a user from a DM call; True and `dmVoiceUserLeft` when they were in it."""
    gid = str(group_id)
    entry = store.DM_CALLS.remove(gid, str(user_id))
    if entry is None:
        return False
    _dm_left(gid, entry)
    return True


def clear_call(group_id: object) -> int:
    """Everyone leaves a DM call (LiveKit closed its room); returns how many left."""
    return sum(unregister_from_call(uid, group_id) for uid in store.DM_CALLS.user_ids(str(group_id)))


def leave_calls(user_id: object, group_ids: Iterable[object] | None = None) -> int:
    """Remove a user from every DM call (or only from `group_ids`); returns how many."""
    uid = str(user_id)
    live, stale = store.DM_CALLS.rooms_of(uid)
    wanted = None if group_ids is None else {str(g) for g in group_ids}
    return sum(unregister_from_call(uid, gid) for gid in live + stale if wanted is None or gid in wanted)


def call_presence(actor, group_id: object) -> list[dict]:
    """Who is in the call of a group the caller is a member of, sorted by joinedAt (stale entries are
    removed and announced). Raises NotFoundError (missing group or not a member)."""
    gid = str(access_dm_group(actor, group_id).id)
    live, stale = store.DM_CALLS.entries(gid)
    _drop_stale(gid, stale, store.DM_CALLS)
    return sorted(live, key=lambda e: (e.get("joinedAt", ""), e["id"]))


def refresh_call(actor, group_id: object) -> str:
    """The caller's call heartbeat: extend their entry by TTL, or register them again when it is gone
    (announcing them as for a join). Raises NotFoundError (missing group or not a member)."""
    gid = str(access_dm_group(actor, group_id).id)
    background.start(SWEEPER_TASK)
    if not store.DM_CALLS.refresh(gid, str(actor.id), TTL):
        register_in_call(actor, gid)
    return gid


def leave_call(actor, group_id: object) -> str:
    """The caller leaves the group's call (succeeds when absent too). Raises NotFoundError."""
    gid = str(access_dm_group(actor, group_id).id)
    unregister_from_call(actor.id, gid)
    return gid


# --- expiry -------------------------------------------------------------------------------

def sweep() -> int:
    """Announce and remove expired entries in every channel and DM call (one process per interval)."""
    if not store.take_sweep_lock(TTL, max(1, TTL // 3)):
        return 0
    removed = 0
    for presence in (store.CHANNELS, store.DM_CALLS):
        for rid in presence.rooms_with_entries():
            removed += _drop_stale(rid, presence.entries(rid)[1], presence)
            presence.forget_if_empty(rid)
    return removed


def declare_tasks() -> None:
    """Called by the app factory: drop voice presence whose TTL ran out (a client gone without leaving)."""
    background.declare(SWEEPER_TASK, lambda: max(1, TTL // 3), sweep)
