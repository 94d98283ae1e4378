"""What voice does when access ends or things are deleted (docs/decisions/0010-private-channels.md,
docs/decisions/0011-community-creation-and-deletion.md, docs/decisions/0019-voice-and-livekit.md).

Connected by the app factory (`init_app`) to the domain events of memberships, channel
memberships, channels, direct-message groups and the socket layer (kraken.domain). Each hook drops voice presence
(announcing the departures) and asks LiveKit, in the background, to disconnect
the participant or close the rooms. A failing hook is logged: it must never undo
or fail the removal that triggered it.
"""
from __future__ import annotations

import logging
from functools import wraps
from typing import Callable

from kraken import domain
from kraken.channels.models import Channel
from kraken.common.lookups import by_ids
from kraken.livekit import rooms
from kraken.presence import service as presence
from kraken.voice import service

log = logging.getLogger("kraken.voice")


def _logged(fn: Callable) -> Callable:
    @wraps(fn)
    def wrapper(*args, **kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:
            log.exception("voice clean-up failed", extra={"hook": fn.__name__})
    return wrapper


def _voice_channel_ids(**query) -> list[str]:
    return [str(c) for c in Channel.objects(type="VOICE", **query).scalar("id")]


@_logged
def member_removed(community_id, *, user_id, channel_ids=()) -> None:
    """A removed member leaves every voice channel of the community, in Redis and in LiveKit."""
    user_id = str(user_id)
    channel_ids = _voice_channel_ids(community_id=community_id)
    service.leave_all(user_id, channel_ids)
    rooms.remove_participant(channel_ids, user_id)


@_logged
def channel_access_revoked(channel, *, user_id) -> None:
    """Removed from a private channel: out of its voice presence and its LiveKit room."""
    user_id = str(user_id)
    service.unregister(user_id, channel.id)
    if channel.type == "VOICE":
        rooms.remove_participant([channel.id], user_id)


@_logged
def channels_deleted(community_id, *, channel_ids) -> None:
    """Channels (or a whole community) are being deleted: clear presence and close their rooms."""
    voice_ids = [str(c.id) for c in by_ids(Channel, channel_ids) if c.type == "VOICE"]
    for channel_id in voice_ids:
        service.clear_channel(channel_id)
    rooms.delete_rooms(voice_ids)


@_logged
def dm_member_left(group_id, *, user_id) -> None:
    """A member left a direct-message group: out of its call, in Redis and in LiveKit
    (docs/decisions/0048-dm-calls.md)."""
    service.leave_calls(user_id, [group_id])
    rooms.remove_participant([group_id], user_id)


@_logged
def socket_disconnected(user, *, sid: str | None) -> None:
    """The user's last live socket closed: their voice presence (channels and DM calls) goes with it.
    (Most users are in no voice channel: those Redis reads come first, before the presence check's.)"""
    if service.in_voice(user.id) and not presence.is_online(str(user.id)):
        service.leave_all(user.id)
        service.leave_calls(user.id)


def init_app() -> None:
    for signal, hook in ((domain.member_left, member_removed), (domain.channel_access_revoked, channel_access_revoked),
                         (domain.channels_removing, channels_deleted), (domain.socket_closed, socket_disconnected),
                         (domain.dm_member_left, dm_member_left)):
        domain.connect(signal, hook)
