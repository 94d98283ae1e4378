"""Read-receipt events: markAsRead (no ack; `readReceiptUpdated` tells the reader's devices)."""
from __future__ import annotations

from kraken.common.validation import validate
from kraken.read_state import service
from kraken.read_state.schemas import MarkReadIn
from kraken.realtime import names
from kraken.realtime.handlers import SocketEvents

socket_events = SocketEvents()


@socket_events.on(names.MARK_AS_READ)
def on_mark_as_read(actor, payload=None):
    service.mark_read(actor, validate(MarkReadIn, payload))
