"""Thread events: sendThreadReply (ack = the stored reply's id)."""
from __future__ import annotations

from kraken.common.validation import validate
from kraken.realtime import limits, names
from kraken.realtime.handlers import SocketEvents
from kraken.threads import service
from kraken.threads.schemas import ThreadReplyIn

socket_events = SocketEvents()


@socket_events.on(names.SEND_THREAD_REPLY, tier=limits.SEND_MESSAGE)
def on_send_thread_reply(actor, payload=None):
    return str(service.reply(actor, validate(ThreadReplyIn, payload)).id)
