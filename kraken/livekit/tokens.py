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
from kraken.rbac import Action, access_channel
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
    settings = extensions.settings()
    if not settings.voice_enabled:
        raise VoiceNotConfiguredError()
    channel = access_channel(actor, room_id, Action.READ_CHANNEL, Action.JOIN_CHANNEL, enter=True)
    require_voice(channel)
    identity, room = str(actor.id), str(channel.id)
    token = (api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
             .with_identity(identity).with_name(name or actor.display_name or actor.username)
             .with_grants(grants(room)).with_ttl(timedelta(seconds=ttl)).to_jwt())
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    return TokenOut(token=token, identity=identity, roomId=room, url=settings.livekit_url or None,
                    expiresAt=iso(datetime.fromtimestamp(expires, timezone.utc)))
