"""Web push routes (HF §3.5) and the owner's look at their own subscriptions."""
from __future__ import annotations

from flask import Blueprint

from kraken import extensions
from kraken.common.validation import parse_body
from kraken.errors import ForbiddenError
from kraken.push import service
from kraken.push.keys import vapid
from kraken.push.schemas import SubscribeIn, UnsubscribeIn, outcome_out, subscription_out
from kraken.rbac.grants import is_owner
from kraken.rbac.web import current_user, require_auth

bp = Blueprint("push", __name__, url_prefix="/api")


def _owner() -> None:
    if not is_owner(current_user()):
        raise ForbiddenError("Debug endpoints are admin-only")


@bp.get("/push/vapid-public-key")
@require_auth
def get_vapid_public_key():
    keys = vapid(extensions.settings())
    return {"publicKey": keys.public_key if keys else None, "enabled": keys is not None}


@bp.post("/push/subscribe")
@require_auth
def subscribe():
    body = parse_body(SubscribeIn)
    service.subscribe(current_user().id, body.endpoint, body.keys.p256dh, body.keys.auth, body.userAgent,
                      extensions.settings())
    return {"success": True, "message": "Successfully subscribed to push notifications"}, 201


@bp.delete("/push/unsubscribe")
@require_auth
def unsubscribe():
    body = parse_body(UnsubscribeIn)
    service.unsubscribe(current_user().id, body.endpoint)
    return {"success": True, "message": "Successfully unsubscribed from push notifications"}


@bp.get("/push/status")
@require_auth
def get_status():
    return {"enabled": vapid(extensions.settings()) is not None, "subscriptionCount": service.count(current_user().id)}


@bp.post("/push/test")
@require_auth
def send_test():
    return outcome_out(service.send_test(current_user().id, extensions.settings()))


@bp.post("/push/debug/send-test")
@require_auth
def send_debug_test():
    _owner()
    return outcome_out(service.send_test(current_user().id, extensions.settings(), debug=True))


@bp.get("/notifications/debug/subscriptions")
@require_auth
def list_debug_subscriptions():
    _owner()
    subs = service.subscriptions_of(current_user().id)
    return {"subscriptions": [subscription_out(s) for s in subs], "count": len(subs),
            "pushEnabled": vapid(extensions.settings()) is not None}
