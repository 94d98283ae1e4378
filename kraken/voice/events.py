"""Voice socket events (contract §6.4): the same service as REST; acks `{success, channelId}`."""
from __future__ import annotations

from kraken.common.validation import validate
from kraken.realtime import names
from kraken.realtime.handlers import SocketEvents, id_from
from kraken.voice import service
from kraken.voice.schemas import VoiceStateEventIn

socket_events = SocketEvents()


@socket_events.on(names.VOICE_CHANNEL_JOIN)
def on_voice_channel_join(actor, payload=None):
    return {"success": True, "channelId": service.join(actor, id_from(payload, "channelId"))}


@socket_events.on(names.VOICE_CHANNEL_LEAVE)
def on_voice_channel_leave(actor, payload=None):
    return {"success": True, "channelId": service.leave(actor, id_from(payload, "channelId"))}


@socket_events.on(names.VOICE_STATE_UPDATE)
def on_voice_state_update(actor, payload=None):
    body = validate(VoiceStateEventIn, payload)
    updates = service.update_state(actor, body.channelId, body.updates())
    return {"success": True, "channelId": body.channelId, "updates": updates}


@socket_events.on(names.VOICE_PRESENCE_REFRESH)
def on_voice_presence_refresh(actor, payload=None):
    channel_id = id_from(payload, "channelId")
    service.refresh(actor, channel_id)
    return {"success": True, "channelId": channel_id}
