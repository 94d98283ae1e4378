"""Web push (HF §3.5, docs/decisions/0068-web-push.md): subscriptions per user, and sending a
notification to a user's browsers with pywebpush (RFC 8030 delivery, RFC 8291 encryption, RFC 8292
VAPID) when the user has no live socket."""
from __future__ import annotations

import ipaddress
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from mongoengine.errors import NotUniqueError
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from kraken.channels.models import Channel
from kraken.common.time import utcnow
from kraken.config import Settings
from kraken.errors import NotFoundError, ValidationError
from kraken.messages.models import Message
from kraken.presence import service as presence
from kraken.push.keys import Vapid, b64url_decode, vapid
from kraken.push.models import PushSubscription
from kraken.users.models import User

log = logging.getLogger("kraken.push")
NOT_CONFIGURED = "Push notifications are not configured on this instance"
TTL_SECONDS = 24 * 3600  # a push waits this long at the push service for an offline browser
SEND_TIMEOUT = 10        # seconds per push service request
BODY_CHARS = 100
GONE = (404, 410)        # the push service forgot the subscription: delete it


@dataclass(frozen=True)
class Outcome:
    sent: int
    failed: int


class _NoRedirects(requests.Session):
    """A push service answers; it never redirects. Not following keeps a subscriber's URL from
    steering the server's POST somewhere else."""

    def request(self, method, url, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


_http = _NoRedirects()


# --- subscriptions ---

def check_endpoint(endpoint: str, insecure_ok: bool = False) -> None:
    """Raise ValidationError unless `endpoint` is an https URL on port 443 of a public host name or
    address: the server POSTs to it, so it must not name the server's own network
    (KRAKEN_PUSH_INSECURE_ENDPOINTS lifts this for a test's own push service)."""
    url = urlsplit(endpoint)
    try:
        port = url.port
    except ValueError:
        port = -1
    if insecure_ok and url.scheme in ("http", "https") and url.hostname and port != -1:
        return
    host = (url.hostname or "").rstrip(".")  # `localhost.` is localhost
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    private_name = (host == "localhost" or "." not in host
                    or host.endswith((".localhost", ".local", ".internal", ".lan", ".home.arpa")))
    if (url.scheme != "https" or port not in (None, 443) or url.username or url.password
            or (address is not None and not address.is_global) or (address is None and private_name)):
        raise ValidationError(["endpoint: must be the https URL of a public push service"],
                              code="INVALID_PUSH_ENDPOINT")


def check_keys(p256dh: str, auth: str) -> None:
    """Raise ValidationError unless p256dh is a P-256 public point and auth a 16-byte secret (base64url)."""
    problems = []
    point = b64url_decode(p256dh)
    try:
        if point is None or len(point) != 65:
            raise ValueError
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        problems.append("keys.p256dh: must be a base64url P-256 public key")
    secret = b64url_decode(auth)
    if secret is None or len(secret) != 16:
        problems.append("keys.auth: must be a base64url 16-byte secret")
    if problems:
        raise ValidationError(problems, code="INVALID_PUSH_KEYS")


def enabled_keys(settings: Settings) -> Vapid:
    """The VAPID keys; raises NotFoundError when push is not configured."""
    keys = vapid(settings)
    if keys is None:
        raise NotFoundError(NOT_CONFIGURED)
    return keys


def subscribe(user_id: Any, endpoint: str, p256dh: str, auth: str, user_agent: str | None,
              settings: Settings) -> PushSubscription:
    """Store (or take over) the subscription of `endpoint` for `user_id`. Raises NotFoundError when
    push is off, ValidationError for an endpoint or keys push could never use."""
    enabled_keys(settings)
    check_endpoint(endpoint, settings.push_insecure_endpoints)
    check_keys(p256dh, auth)
    now = utcnow()
    values = {"set__user_id": user_id, "set__p256dh": p256dh, "set__auth": auth,
              "set__user_agent": (user_agent or None) and user_agent[:512], "set__updated_at": now}
    try:
        PushSubscription.objects(endpoint=endpoint).update_one(upsert=True, set_on_insert__created_at=now, **values)
    except NotUniqueError:  # a concurrent subscribe of the same endpoint inserted it first: update that one
        PushSubscription.objects(endpoint=endpoint).update_one(**values)
    return PushSubscription.objects(endpoint=endpoint).first()


def unsubscribe(user_id: Any, endpoint: str) -> None:
    """Forget `endpoint` if it is the user's (idempotent; another user's subscription is left alone)."""
    sub = PushSubscription.objects(endpoint=endpoint).first()
    if sub is not None and sub.user_id == user_id:
        PushSubscription.objects(id=sub.id, user_id=user_id).delete()


def unsubscribe_all(user_id: Any) -> int:
    """Forget every subscription of the user (a deleted account); returns how many."""
    return PushSubscription.objects(user_id=user_id).delete()


def subscriptions_of(user_id: Any) -> list[PushSubscription]:
    return list(PushSubscription.objects(user_id=user_id).order_by("created_at"))


def count(user_id: Any) -> int:
    return PushSubscription.objects(user_id=user_id).count()


# --- sending ---

def _send_one(sub: PushSubscription, data: str, keys: Vapid, signer: Vapid02) -> bool:
    """Push `data` to one subscription; True when the push service took it. A subscription the push
    service no longer knows (404, 410) is deleted."""
    info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
    try:
        # claims are built per call: pywebpush writes the endpoint's origin into them as `aud`
        webpush(info, data=data, vapid_private_key=signer, vapid_claims={"sub": keys.subject}, ttl=TTL_SECONDS,
                headers={"Urgency": "normal"}, timeout=SEND_TIMEOUT, requests_session=_http)
        return True
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in GONE:
            PushSubscription.objects(id=sub.id).delete()
            log.info("push subscription gone; deleted", extra={"subscription_id": str(sub.id), "status": status})
        else:
            log.warning("push refused", extra={"subscription_id": str(sub.id), "status": status})
    except Exception as exc:  # unreachable push service, bad stored keys: this one fails, the others go on
        log.warning("push failed", extra={"subscription_id": str(sub.id), "error": type(exc).__name__})
    return False


def send_to_user(user_id: Any, message: dict, keys: Vapid) -> Outcome:
    """Push `message` (JSON) to every subscription of the user; how many were taken and refused."""
    subs = subscriptions_of(user_id)
    if not subs:
        return Outcome(0, 0)
    data = json.dumps(message, separators=(",", ":"))
    signer = Vapid02.from_raw(keys.private_key.encode())
    sent = sum(_send_one(sub, data, keys, signer) for sub in subs)
    return Outcome(sent, len(subs) - sent)


def send_test(user_id: Any, settings: Settings, debug: bool = False) -> Outcome:
    """`POST /api/push/test` and the owner's debug twin; raises NotFoundError when push is off."""
    keys = enabled_keys(settings)
    stamp = int(time.time() * 1000)
    message = {"title": "Test Push Notification",
               "body": ("This is a test push notification from the debug panel." if debug
                        else "This is a test push notification."),
               "tag": f"{'debug-' if debug else ''}test-{stamp}", "data": {"type": "DEBUG" if debug else "TEST"}}
    return send_to_user(user_id, message, keys)


# --- notifications ---

def _text(spans) -> str:
    return "".join(span.get("text") or "" for span in spans or () if isinstance(span, dict)).strip()


def notification_message(n: dict) -> dict:
    """The push JSON of a notification (HF §3.5): `{title, body, tag, data}`. `n` holds the
    Notification's attributes (HELPERS: id, user_id, type, message_id, channel_id, community_id,
    direct_message_group_id, author_id, ...)."""
    author = User.objects(id=n["author_id"]).only("username", "display_name").first() if n.get("author_id") else None
    name = (author.display_name or author.username) if author else "Someone"
    channel = Channel.objects(id=n["channel_id"]).only("name", "community_id").first() if n.get("channel_id") else None
    message = Message.objects(id=n["message_id"]).only("spans").first() if n.get("message_id") else None
    kind = n.get("type")
    if kind == "DIRECT_MESSAGE":
        title = f"Message from {name}"
    elif channel is not None:
        title = f"#{channel.name}"
    else:
        title = "New notification"
    text = _text(message.spans) if message is not None else ""
    if text:
        body = f"{name}: {text[:BODY_CHARS]}{'...' if len(text) > BODY_CHARS else ''}"
    else:
        body = {"USER_MENTION": f"{name} mentioned you", "SPECIAL_MENTION": f"{name} mentioned you",
                "DIRECT_MESSAGE": "New message", "CHANNEL_MESSAGE": f"{name} sent a message",
                "THREAD_REPLY": f"{name} replied to a thread"}.get(kind, "New notification")
    community_id = n.get("community_id") or (channel.community_id if channel is not None else None)
    return {"title": title, "body": body, "tag": str(n["id"]),
            "data": {"notificationId": str(n["id"]), "channelId": _str(n.get("channel_id")),
                     "communityId": _str(community_id), "directMessageGroupId": _str(n.get("direct_message_group_id")),
                     "type": kind}}


def _str(value) -> str | None:
    return str(value) if value is not None else None


NOTIFICATION_FIELDS = ("id", "user_id", "type", "message_id", "channel_id", "community_id",
                       "direct_message_group_id", "author_id", "parent_message_id")


def snapshot(notification: Any) -> dict:
    """The attributes push needs, read from any object that has them (the Notification document)."""
    return {field: getattr(notification, field, None) for field in NOTIFICATION_FIELDS}


def deliver(n: dict, settings: Settings) -> Outcome | None:
    """Push a stored notification to its recipient's browsers unless the recipient has a live socket
    (they see it in the client) or push is off; None when nothing was attempted. Runs in the
    background, never on a request's path (kraken.push.hooks)."""
    if presence.has_live_socket(str(n["user_id"])):
        return None
    keys = vapid(settings)
    if keys is None or count(n["user_id"]) == 0:
        return None
    return send_to_user(n["user_id"], notification_message(n), keys)
