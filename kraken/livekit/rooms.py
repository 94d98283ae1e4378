"""LiveKit room management through livekit-api's room service (docs/decisions/0019-voice-and-livekit.md).

Room name = channel id, participant identity = user id. Clean-ups (remove a
participant, delete rooms) are fire-and-forget: they never slow down or fail
the request that caused them, and their errors are logged. Calls a client waits
for (mute, health) are bounded by a short timeout and raise KrakenErrors.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Iterable

from livekit import api

from kraken import extensions
from kraken.errors import ConflictError, NotFoundError, ServiceUnavailableError, VoiceNotConfiguredError
from kraken.livekit import bridge
from kraken.livekit.bridge import Credentials, LiveKitCallError
from kraken.voice import service as voice

log = logging.getLogger("kraken.livekit")
PING_TIMEOUT = 2.0


def credentials() -> Credentials | None:
    """This app's LiveKit API credentials, or None when voice is off or unconfigured."""
    settings = extensions.settings()
    if not settings.voice_enabled or not settings.livekit_api_url:
        return None
    return Credentials(settings.livekit_api_url, settings.livekit_api_key, settings.livekit_api_secret)


def require_credentials() -> Credentials:
    """Raises VoiceNotConfiguredError (503) when voice is off or unconfigured."""
    creds = credentials()
    if creds is None:
        raise VoiceNotConfiguredError()
    return creds


def ping(timeout: float = PING_TIMEOUT) -> bool | None:
    """True when LiveKit answers its API (list_rooms), False when not, None when unconfigured."""
    creds = credentials()
    if creds is None:
        return None
    try:
        bridge.call(creds, lambda lk: lk.room.list_rooms(api.ListRoomsRequest()), timeout)
        return True
    except LiveKitCallError as exc:
        log.warning("livekit health check failed", extra={"code": exc.code, "detail": exc.message})
        return False


def remove_participant(room_names: Iterable[object], identity: object) -> None:
    """Disconnect `identity` from each room (absent ones are fine), in the background."""
    creds = credentials()
    rooms = [str(r) for r in room_names]
    if creds is None or not rooms:
        return

    async def remove(lk) -> None:
        await asyncio.gather(*(lk.room.remove_participant(api.RoomParticipantIdentity(room=room, identity=str(identity)))
                               for room in rooms), return_exceptions=True)

    bridge.submit(creds, remove, "remove_participant")


def delete_rooms(room_names: Iterable[object]) -> None:
    """Close the rooms (everyone in them is disconnected), in the background."""
    creds = credentials()
    rooms = [str(r) for r in room_names]
    if creds is None or not rooms:
        return

    async def delete(lk) -> None:
        await asyncio.gather(*(lk.room.delete_room(api.DeleteRoomRequest(room=room)) for room in rooms),
                             return_exceptions=True)

    bridge.submit(creds, delete, "delete_room")


def mute_tracks(room: object, identity: object, track_sid: str | None, muted: bool) -> list[str]:
    """Mute (or unmute) one published track, or every audio track of the participant.

    Returns the affected track sids. Raises VoiceNotConfiguredError, NotFoundError
    (participant or track absent), ConflictError (LiveKit refused, e.g. remote
    unmute disabled), ServiceUnavailableError (LiveKit unreachable).
    """
    creds = require_credentials()
    room, identity = str(room), str(identity)

    async def mute(lk) -> list[str] | None:
        participant = await lk.room.get_participant(api.RoomParticipantIdentity(room=room, identity=identity))
        tracks = [t.sid for t in participant.tracks
                  if (t.sid == track_sid if track_sid else t.type == api.TrackType.AUDIO)]
        if track_sid and not tracks:
            return None  # the participant has no such track
        for sid in tracks:
            await lk.room.mute_published_track(api.MuteRoomTrackRequest(
                room=room, identity=identity, track_sid=sid, muted=muted))
        return tracks

    try:
        tracks = bridge.call(creds, mute)
    except LiveKitCallError as exc:
        if exc.code == "not_found":
            raise NotFoundError("Participant not found in this voice channel") from None
        if exc.code == "unavailable":
            log.warning("livekit mute failed", extra={"detail": exc.message})
            raise ServiceUnavailableError("Voice server unavailable", code="VOICE_UNAVAILABLE") from None
        raise ConflictError(f"LiveKit refused: {exc.message}", code="VOICE_REFUSED") from None
    if tracks is None:
        raise NotFoundError("Track not found")
    return tracks


def mute_participant(channel, user_id: str, track_sid: str | None, muted: bool) -> list[str]:
    """MANAGE_VOICE: mute a participant's track (or all their audio) in a voice channel; without a
    track the voice presence's `isMuted` follows. Raises what mute_tracks raises, ValidationError (TEXT)."""
    voice.require_voice(channel)
    tracks = mute_tracks(channel.id, user_id, track_sid, muted)
    if not track_sid:
        voice.set_flags(user_id, channel.id, {"isMuted": muted})
    return tracks
