"""Direct-message events: sendDirectMessage (ack = the stored id) → newDirectMessage to `dm:<id>`."""
from __future__ import annotations

from kraken.common.validation import validate
from kraken.messages import service as messages
from kraken.messages.schemas import DirectMessageIn
from kraken.realtime import limits, names
from kraken.realtime.handlers import SocketEvents

socket_events = SocketEvents()


@socket_events.on(names.SEND_DM, tier=limits.SEND_MESSAGE)
def on_send_direct_message(actor, payload=None):
    return str(messages.send_direct(actor, validate(DirectMessageIn, payload)).id)
