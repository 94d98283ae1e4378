"""Voice socket events (contract §6.4): the same service as REST; acks `{success, channelId}`."""
from __future__ import annotations

from kraken.common.validation import validate
from kraken.realtime import names
from kraken.realtime.events import _id_from
from kraken.realtime.handlers import socket_event
from kraken.voice import service
from kraken.voice.schemas import VoiceStateEventIn


@socket_event(names.VOICE_CHANNEL_JOIN)
def on_voice_channel_join(actor, payload=None):
    return {"success": True, "channelId": service.join(actor, _id_from(payload, "channelId"))}


@socket_event(names.VOICE_CHANNEL_LEAVE)
def on_voice_channel_leave(actor, payload=None):
    return {"success": True, "channelId": service.leave(actor, _id_from(payload, "channelId"))}


@socket_event(names.VOICE_STATE_UPDATE)
def on_voice_state_update(actor, payload=None):
    body = validate(VoiceStateEventIn, payload)
    updates = service.update_state(actor, body.channelId, body.updates())
    return {"success": True, "channelId": body.channelId, "updates": updates}


@socket_event(names.VOICE_PRESENCE_REFRESH)
def on_voice_presence_refresh(actor, payload=None):
    channel_id = _id_from(payload, "channelId")
    service.refresh(actor, channel_id)
    return {"success": True, "channelId": channel_id}
