"""LiveKit's webhook: verified over the raw body, authoritative for voice presence
(docs/decisions/0019-voice-and-livekit.md).

LiveKit signs each delivery with a JWT (issuer = the API key, HS256 with its
secret) whose `sha256` claim is the base64 SHA-256 of the exact body bytes,
sent as the `Authorization` header. Room name = channel id (voice channels) or
direct-message group id (DM calls, docs/decisions/0048-dm-calls.md), participant
identity = user id; events about anything else are acknowledged and ignored.
"""
from __future__ import annotations

import json
import logging

from google.protobuf.json_format import ParseError
from livekit import api

from kraken import extensions
from kraken.channels.models import Channel
from kraken.common.ids import is_object_id
from kraken.direct_messages.models import DirectMessageGroup
from kraken.errors import KrakenError, UnauthorizedError, ValidationError, VoiceNotConfiguredError
from kraken.livekit import rooms
from kraken.rbac import Action, access_channel, is_dm_member
from kraken.users.lookups import active_user
from kraken.voice import service as voice

log = logging.getLogger("kraken.livekit")
HANDLED = ("participant_joined", "participant_left", "room_finished")


def verify(body: bytes, authorization: str | None):
    """The WebhookEvent in `body`, if LiveKit signed exactly these bytes with our key.

    Raises VoiceNotConfiguredError (503), UnauthorizedError (401: no, bad or foreign
    signature, or a body that does not match it), ValidationError (400: signed but unreadable).
    """
    settings = extensions.settings()
    if not settings.voice_enabled:
        raise VoiceNotConfiguredError()
    token = (authorization or "").strip()
    token = token[7:].strip() if token.lower().startswith("bearer ") else token
    if not token:
        raise UnauthorizedError("Missing webhook signature", code="INVALID_WEBHOOK_SIGNATURE")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UnauthorizedError("Invalid webhook signature", code="INVALID_WEBHOOK_SIGNATURE") from None
    receiver = api.WebhookReceiver(api.TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret))
    try:
        return receiver.receive(text, token)
    except ParseError:
        raise ValidationError(["Webhook body is not a LiveKit event"]) from None
    except Exception as exc:  # bad JWT, wrong key or secret, expired, hash mismatch
        log.warning("webhook refused", extra={"detail": f"{type(exc).__name__}: {exc}"[:200]})
        raise UnauthorizedError("Invalid webhook signature", code="INVALID_WEBHOOK_SIGNATURE") from None


def _voice_channel(room_name: str):
    if not is_object_id(room_name):
        return None
    return Channel.objects(id=room_name, type="VOICE").first()


def _user(identity: str):
    if not is_object_id(identity):
        return None
    return active_user(identity)


def _dm_group(room_name: str):
    if not is_object_id(room_name):
        return None
    return DirectMessageGroup.objects(id=room_name).first()


def _deafened(metadata: str) -> bool:
    """The `{"isDeafened": bool}` the client publishes as its participant metadata (KLE §7.3)."""
    try:
        value = json.loads(metadata) if metadata else None
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("isDeafened") is True


def apply(event) -> bool:
    """Make voice presence follow LiveKit; True when the event concerned one of our voice channels
    or DM calls."""
    if event.event not in HANDLED:
        return False
    channel = _voice_channel(event.room.name)
    if channel is None:
        group = _dm_group(event.room.name)
        return group is not None and _apply_to_call(event, group)
    if event.event == "room_finished":
        voice.clear_channel(channel.id)
        return True
    identity = event.participant.identity
    if event.event == "participant_left":
        if is_object_id(identity):
            voice.unregister(identity, channel.id)
        return True
    user = _user(identity)
    if user is None:
        return False
    try:
        access_channel(user, channel.id, Action.JOIN_CHANNEL, enter=True)
    except KrakenError:
        # a token minted before they lost access: they do not stay
        rooms.remove_participant([channel.id], user.id)
        return True
    voice.register(user, channel.id)
    return True


def _apply_to_call(event, group) -> bool:
    """The same for a DM call: the group's members only; the first one in starts the call."""
    if event.event == "room_finished":
        voice.clear_call(group.id)
        return True
    identity = event.participant.identity
    if event.event == "participant_left":
        if is_object_id(identity):
            voice.unregister_from_call(identity, group.id)
        return True
    user = _user(identity)
    if user is None:
        return False
    if not is_dm_member(user.id, group.id):
        # a token minted before they left the group: they do not stay
        rooms.remove_participant([group.id], user.id)
        return True
    voice.register_in_call(user, group.id, deafened=_deafened(event.participant.metadata))
    return True
