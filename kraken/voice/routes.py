"""Voice presence REST: list, join, leave, state, deafen, refresh, mine (contract §5.12,
docs/decisions/0019-voice-and-livekit.md), and DM calls' list, refresh and leave (KLE §7.2,
docs/decisions/0048-dm-calls.md)."""
from __future__ import annotations

from flask import Blueprint

from kraken import ratelimits
from kraken.common.validation import parse_body
from kraken.rbac import current_user, require_auth
from kraken.voice import service
from kraken.voice.schemas import (DeafenIn, DmVoiceActionOut, DmVoicePresenceOut, MyVoiceChannelsOut, VoiceActionOut,
                                  VoicePresenceOut, VoiceStateIn, VoiceStateOut)

bp = Blueprint("voice", __name__, url_prefix="/api")
PRESENCE = "/channels/<oid:channel_id>/voice-presence"
DM_PRESENCE = "/dm-groups/<oid:group_id>/voice-presence"
# The web client polls every voice channel's list at once every 10 s: the default 3/s burst would
# answer 429 from the fourth voice channel on (contract §16.13), so the burst is one poll of 20 channels.
PRESENCE_POLLING = "20 per 1 second;100 per 10 seconds;400 per 1 minute"


@bp.get(PRESENCE)
@ratelimits.limit(PRESENCE_POLLING)
@require_auth
def get_voice_presence(channel_id: str):
    return VoicePresenceOut.of(channel_id, service.channel_presence(current_user(), channel_id))


@bp.post(PRESENCE + "/join")
@require_auth
def join_voice_channel(channel_id: str):
    service.join(current_user(), channel_id)
    return VoiceActionOut.of(channel_id, "Successfully joined voice channel"), 201


def _leave(channel_id: str) -> dict:
    service.leave(current_user(), channel_id)
    return VoiceActionOut.of(channel_id, "Successfully left voice channel")


@bp.delete(PRESENCE + "/leave")
@require_auth
def leave_voice_channel(channel_id: str):
    return _leave(channel_id)


@bp.post(PRESENCE + "/leave")  # the later versions' spelling (docs/decisions/0019-voice-and-livekit.md)
@require_auth
def leave_voice_channel_by_post(channel_id: str):
    return _leave(channel_id), 201


@bp.put(PRESENCE + "/state")
@require_auth
def update_voice_state(channel_id: str):
    updates = service.update_state(current_user(), channel_id, parse_body(VoiceStateIn).updates())
    return VoiceStateOut(success=True, message="Voice state updated successfully", channelId=channel_id,
                         updates=updates).model_dump()


@bp.post(PRESENCE + "/deafen")  # the later versions' deafen (KLE §7.2); a no-op when the caller is not present
@require_auth
def deafen(channel_id: str):
    deafened = parse_body(DeafenIn).isDeafened
    service.update_state(current_user(), channel_id, {"isDeafened": deafened})
    return VoiceActionOut.of(channel_id, f"Deafen state updated to {'true' if deafened else 'false'}"), 201


@bp.post(PRESENCE + "/refresh")
@require_auth
def refresh_voice_presence(channel_id: str):
    service.refresh(current_user(), channel_id)
    return VoiceActionOut.of(channel_id, "Presence refreshed successfully"), 201


@bp.get("/voice-presence/me")
@require_auth
def my_voice_channels():
    user = current_user()
    return MyVoiceChannelsOut(userId=str(user.id), voiceChannels=service.my_channels(user.id)).model_dump()


# --- DM calls: membership of the group is the permission; no join route (LiveKit's webhook or the
# first refresh registers the caller, KLE §7.2)


@bp.get(DM_PRESENCE)
@ratelimits.limit(PRESENCE_POLLING)
@require_auth
def get_dm_voice_presence(group_id: str):
    return DmVoicePresenceOut.of(group_id, service.call_presence(current_user(), group_id))


@bp.post(DM_PRESENCE + "/refresh")
@require_auth
def refresh_dm_voice_presence(group_id: str):
    service.refresh_call(current_user(), group_id)
    return DmVoiceActionOut.of(group_id, "DM presence refreshed successfully"), 201


def _leave_call(group_id: str) -> dict:
    service.leave_call(current_user(), group_id)
    return DmVoiceActionOut.of(group_id, "Voice presence removed")


# The current client's keepalive request on unload is a DELETE (RoomContext.tsx); KLE §7 names the route
# with POST. Both, as for channels: DELETE 200, POST 201 (the reference has neither, 0048).
@bp.delete(DM_PRESENCE + "/leave")
@require_auth
def leave_dm_voice_call(group_id: str):
    return _leave_call(group_id)


@bp.post(DM_PRESENCE + "/leave")
@require_auth
def leave_dm_voice_call_by_post(group_id: str):
    return _leave_call(group_id), 201
