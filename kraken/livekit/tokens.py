"""LiveKit access tokens: the caller's own identity, one room, explicit grants and TTL
(docs/decisions/0019-voice-and-livekit.md)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
from livekit import api

from kraken import extensions
from kraken.common.time import iso
from kraken.errors import VoiceNotConfiguredError
from kraken.livekit.schemas import TokenOut
from kraken.rbac import Action, access_channel, access_dm_group
from kraken.voice.service import require_voice


def grants(room: str) -> api.VideoGrants:
    """What every Kraken token grants in its one room (a voice channel, or a DM call): join, publish,
    subscribe, data, and updating the participant's own metadata, through which the client publishes
    `{"isDeafened": bool}` (KLE §7.2); nothing of a room admin. livekit-api defaults publish/subscribe/data
    to true and leaves the rest unset: say everything."""
    return api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True, can_publish_data=True,
                           can_update_own_metadata=True, room_create=False, room_list=False, room_admin=False,
                           room_record=False)


def issue(actor, room_id: str, name: str | None, ttl: int) -> TokenOut:
    """A token letting `actor` join the voice channel `room_id` for `ttl` seconds (TokenResponse).

    Raises VoiceNotConfiguredError (503), NotFoundError (missing or invisible channel),
    ForbiddenError (no JOIN_CHANNEL), ValidationError (not a VOICE channel).
    """
    _require_voice_enabled()
    channel = access_channel(actor, room_id, Action.READ_CHANNEL, Action.JOIN_CHANNEL, enter=True)
    require_voice(channel)
    return _mint(actor, str(channel.id), name, ttl)


def issue_dm(actor, group_id: str, name: str | None, ttl: int) -> TokenOut:
    """A token letting `actor` join the call of the direct-message group `group_id` (the LiveKit room is
    the group id; docs/decisions/0048-dm-calls.md). Membership of the group is the permission.

    Raises VoiceNotConfiguredError (503), NotFoundError (missing group, or not a member).
    """
    _require_voice_enabled()
    group = access_dm_group(actor, group_id)
    return _mint(actor, str(group.id), name, ttl)


def _require_voice_enabled() -> None:
    if not extensions.settings().voice_enabled:
        raise VoiceNotConfiguredError()


def _mint(actor, room: str, name: str | None, ttl: int) -> TokenOut:
    """The caller's own token for one room (TokenResponse)."""
    settings = extensions.settings()
    identity = str(actor.id)
    token = (api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
             .with_identity(identity).with_name(name or actor.display_name or actor.username)
             .with_grants(grants(room)).with_ttl(timedelta(seconds=ttl)).to_jwt())
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    return TokenOut(token=token, identity=identity, roomId=room, url=settings.livekit_url or None,
                    expiresAt=iso(datetime.fromtimestamp(expires, timezone.utc)))
