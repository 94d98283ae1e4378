"""What voice does when access ends or things are deleted (decisions §3, §4, §7).

Registered on the hook lists of memberships, channel memberships, channels and
the socket layer when kraken.voice is imported. Each hook drops voice presence
(announcing the departures) and asks LiveKit, in the background, to disconnect
the participant or close the rooms. A failing hook is logged: it must never undo
or fail the removal that triggered it.
"""
from __future__ import annotations

import logging
from functools import wraps
from typing import Callable

from kraken.livekit import rooms
from kraken.voice import service

log = logging.getLogger("kraken.voice")


def _logged(fn: Callable) -> Callable:
    @wraps(fn)
    def wrapper(*args) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("voice clean-up failed", extra={"hook": fn.__name__})
    return wrapper


def _voice_channel_ids(**query) -> list[str]:
    from kraken.channels.models import Channel
    return [str(c) for c in Channel.objects(type="VOICE", **query).scalar("id")]


@_logged
def member_removed(community_id: str, user_id: str) -> None:
    """A removed member leaves every voice channel of the community, in Redis and in LiveKit."""
    channel_ids = _voice_channel_ids(community_id=community_id)
    service.leave_all(user_id, channel_ids)
    rooms.remove_participant(channel_ids, user_id)


@_logged
def channel_access_revoked(channel, user_id: str) -> None:
    """Removed from a private channel: out of its voice presence and its LiveKit room."""
    service.unregister(user_id, channel.id)
    if channel.type == "VOICE":
        rooms.remove_participant([channel.id], user_id)


@_logged
def channels_deleted(channel_ids) -> None:
    """Channels (or a whole community) are being deleted: clear presence and close their rooms."""
    from kraken.channels.models import Channel
    from kraken.common.lookups import by_ids
    voice_ids = [str(c.id) for c in by_ids(Channel, channel_ids) if c.type == "VOICE"]
    for channel_id in voice_ids:
        service.clear_channel(channel_id)
    rooms.delete_rooms(voice_ids)


@_logged
def socket_disconnected(user, sid: str) -> None:
    """The user's last live socket closed: their voice presence goes with it. (Most users are in no
    voice channel: that one Redis read comes first, before the presence check's several.)"""
    from kraken.presence import service as presence
    if service.in_voice(user.id) and not presence.is_online(str(user.id)):
        service.leave_all(user.id)


def register() -> None:
    from kraken.channel_memberships.service import CHANNEL_ACCESS_REVOKED
    from kraken.channels.service import CHANNEL_CLEANUPS
    from kraken.memberships.service import MEMBER_REMOVED
    from kraken.realtime.connection import DISCONNECT_HOOKS
    for hooks, hook in ((MEMBER_REMOVED, member_removed), (CHANNEL_ACCESS_REVOKED, channel_access_revoked),
                        (CHANNEL_CLEANUPS, channels_deleted), (DISCONNECT_HOOKS, socket_disconnected)):
        if hook not in hooks:
            hooks.append(hook)
