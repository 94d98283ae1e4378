"""LiveKit routes: tokens, connection info, health, webhook, muting (contract §5.11,
docs/decisions/0019-voice-and-livekit.md)."""
from __future__ import annotations

import warnings

from flask import Blueprint, request
from jwt.warnings import InsecureKeyLengthWarning

from kraken import extensions
from kraken.common.validation import WEBHOOK_BODY, body_class, parse_body
from kraken.config import DEV_LIVEKIT
from kraken.livekit import rooms, tokens, webhook
from kraken.livekit.schemas import ConnectionInfoOut, LiveKitHealthOut, MuteIn, MuteOut, TokenIn, WebhookOut
from kraken.ratelimits import limiter
from kraken.rbac import Action, Resource, authorized_resource, current_user, require_actions, require_auth

bp = Blueprint("livekit", __name__, url_prefix="/api/livekit")


@bp.record_once
def _quiet_dev_secret(state) -> None:
    """PyJWT warns on every token signed with `livekit-server --dev`'s public 6-byte secret."""
    if state.app.extensions["kraken.settings"].livekit_api_secret == DEV_LIVEKIT["livekit_api_secret"]:
        warnings.filterwarnings("ignore", message="The HMAC key is 6 bytes long", category=InsecureKeyLengthWarning)


@bp.post("/token")
@require_auth
def create_token():
    body = parse_body(TokenIn)
    return tokens.issue(current_user(), body.roomId, body.name, body.ttl).model_dump(exclude_none=True), 201


@bp.post("/dm-token")
@require_auth
def create_dm_token():
    """A token for a direct-message group's call: `roomId` is the group id (KLE §7.2)."""
    body = parse_body(TokenIn)
    return tokens.issue_dm(current_user(), body.roomId, body.name, body.ttl).model_dump(exclude_none=True), 201


@bp.get("/connection-info")
@require_auth
def connection_info():
    settings = extensions.settings()
    url = settings.livekit_url if settings.voice_enabled else None
    return ConnectionInfoOut(url=url).model_dump(exclude_none=True)


@bp.get("/health")
@require_auth
def livekit_health():
    alive = rooms.ping()
    return LiveKitHealthOut(status="healthy" if alive else "unhealthy", configured=alive is not None).model_dump()


@bp.post("/webhook")
@limiter.exempt  # LiveKit sends bursts (every join and leave of a busy room); the signature guards it
@body_class(WEBHOOK_BODY)
def receive_webhook():
    event = webhook.verify(request.get_data(cache=True), request.headers.get("Authorization"))
    return WebhookOut(success=True, applied=webhook.apply(event)).model_dump()


@bp.post("/channels/<oid:channel_id>/mute-participant")
@require_actions(Action.MANAGE_VOICE, resource=Resource.CHANNEL, id_from="path.channel_id")
def mute_participant(channel_id: str):
    body = parse_body(MuteIn)
    tracks = rooms.mute_participant(authorized_resource(), body.userId, body.trackSid, body.muted)
    return MuteOut(success=True, channelId=channel_id, userId=body.userId, muted=body.muted,
                   trackSids=tracks).model_dump(), 201
