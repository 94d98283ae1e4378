"""Socket.IO packets read with the one JSON parser (kraken.common.jsonparse), never a 500.

python-socketio decodes a packet with `json.loads` and dispatches `data[0]` as the event name: a
payload nested 10,000 deep, a non-list payload (`42{}`), an empty or garbled packet raise inside the
engine.io loop (a logged traceback, the packet lost without a word to the client). `KrakenPacket`
bounds each packet by its kind before parsing (CONNECT_BYTES for the auth payload of a connect,
EVENT_BYTES for everything else, binary attachments counted too) and turns anything the parser
refuses into an EVENT whose argument is a `RefusedPayload`: the event's handler (or the catch-all of
kraken.realtime.handlers for an event it cannot name) answers with the `exception` event, before any
rate limit is counted or any service runs. A refused connect payload is refused as the connection.
"""
from __future__ import annotations

import re
from functools import partial
from types import SimpleNamespace

from socketio import packet as sio_packet

from kraken.common import jsonparse
from kraken.errors import KrakenError, PayloadTooLargeError, ValidationError

EVENT_BYTES = 64 * 1024  # docs/decisions/0016-socket-event-limits.md: payloads over 64 KiB are refused
CONNECT_BYTES = 8 * 1024  # `{"token": "Bearer <jwt>"}`
MAX_ATTACHMENTS = 10  # binary attachments of one packet (no event of the contract sends any)
# the name of an event whose packet cannot be read far enough to know it
UNREADABLE_EVENT = "<unreadable>"
# what a client may send (CONNECT_ERROR goes the other way only)
_CLIENT_TYPES = (sio_packet.CONNECT, sio_packet.DISCONNECT, sio_packet.EVENT, sio_packet.ACK,
                 sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK)
# `42`, `451-`, `42/ns,`, `4217` ... then `["<name>"`: the name of an event whose payload is refused
_EVENT_NAME = re.compile(r'^[25](?:\d{1,10}-)?(?:/[^,]{0,128},)?\d{0,20}\[\s*"([A-Za-z0-9_]{1,64})"')


class RefusedPayload:
    """Stands in for an event's arguments when the parser refused them; `error` says why."""

    __slots__ = ("error",)

    def __init__(self, error: KrakenError):
        self.error = error

    def __repr__(self) -> str:
        return f"RefusedPayload({self.error.code}: {self.error})"


def _utf8_length_over(text: str, limit: int) -> bool:
    return len(text) > limit or (len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit)


class KrakenPacket(sio_packet.Packet):
    """python-socketio's packet, read by the strict parser; see the module docstring."""

    # a payload is one level deeper than the same body over REST: `["sendMessage", {...}]`
    json = SimpleNamespace(loads=partial(jsonparse.loads, max_depth=jsonparse.MAX_DEPTH + 1),
                           dumps=jsonparse.dumps)

    def __init__(self, *args, encoded_packet=None, **kwargs):
        self._binary_bytes = 0
        super().__init__(*args, encoded_packet=encoded_packet, **kwargs)
        if encoded_packet is not None and not encoded_packet:  # an empty packet: never decoded
            self._refuse("", ValidationError(["An empty Socket.IO packet"]))

    def decode(self, encoded_packet):
        kind = encoded_packet[:1] if isinstance(encoded_packet, str) else ""
        limit = CONNECT_BYTES if kind == str(sio_packet.CONNECT) else EVENT_BYTES
        try:
            if not isinstance(encoded_packet, str):
                raise ValidationError(["A Socket.IO packet is text"])
            if _utf8_length_over(encoded_packet, limit):
                raise PayloadTooLargeError(f"Payload over {limit // 1024} KiB")
            attachments = super().decode(encoded_packet) or 0
            self._check_shape(attachments)
        except KrakenError as exc:
            return self._refuse(encoded_packet, exc)
        except jsonparse.JsonRefused as exc:
            return self._refuse(encoded_packet, ValidationError([str(exc)]))
        except (ValueError, TypeError, IndexError, AttributeError):
            return self._refuse(encoded_packet, ValidationError(["Unreadable Socket.IO packet"]))
        return attachments

    def _check_shape(self, attachments: int) -> None:
        if self.packet_type not in _CLIENT_TYPES:
            raise ValidationError(["Unknown Socket.IO packet type"])
        if attachments > MAX_ATTACHMENTS:
            raise ValidationError([f"More than {MAX_ATTACHMENTS} binary attachments"])
        if self.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT) and not (
                isinstance(self.data, list) and self.data and isinstance(self.data[0], str)):
            raise ValidationError(["An event is a list that starts with its name"])

    def _refuse(self, encoded_packet, error: KrakenError) -> int:
        """Become an EVENT carrying a RefusedPayload (a CONNECT keeps its type: the connection is refused)."""
        refused = RefusedPayload(error)
        self.attachment_count, self.attachments = 0, []
        if isinstance(encoded_packet, str) and encoded_packet[:1] == str(sio_packet.CONNECT):
            self.packet_type, self.data = sio_packet.CONNECT, refused
            return 0
        match = _EVENT_NAME.match(encoded_packet) if isinstance(encoded_packet, str) else None
        self.packet_type = sio_packet.EVENT
        self.data = [match.group(1) if match else UNREADABLE_EVENT, refused]
        if not isinstance(self.namespace, str):
            self.namespace = None
        return 0

    def add_attachment(self, attachment) -> bool:
        self._binary_bytes += len(attachment)
        done = super().add_attachment(attachment)
        if done and self._binary_bytes > EVENT_BYTES:
            # the type stays BINARY_EVENT (or _ACK): the server dispatches on it once this returns True
            name = self.data[0] if self.packet_type == sio_packet.BINARY_EVENT else UNREADABLE_EVENT
            self.data = [name, RefusedPayload(PayloadTooLargeError(f"Payload over {EVENT_BYTES // 1024} KiB"))]
        return done
