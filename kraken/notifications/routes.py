"""Notification routes (HF §3.2): the caller's own notifications, settings and overrides; no RBAC
except the OWNER-only debug helpers. `GET debug/subscriptions` belongs to web push."""
from __future__ import annotations

from flask import Blueprint, Response

from kraken.common.validation import parse_body, parse_query
from kraken.notifications import service
from kraken.notifications.schemas import ListQuery, OverrideIn, SendTestIn, SettingsIn, override_out, settings_out
from kraken.rbac import current_user, require_auth

bp = Blueprint("notifications", __name__, url_prefix="/api/notifications")


@bp.get("")
@require_auth
def list_notifications():
    query = parse_query(ListQuery)
    return service.list_for(current_user(), query.unread_only, query.limit, query.offset)


@bp.get("/unread-count")
@require_auth
def unread_count():
    return {"count": service.unread_count(current_user())}


@bp.post("/<oid:notification_id>/read")
@require_auth
def mark_read(notification_id: str):
    return service.mark_read(current_user(), notification_id)


@bp.post("/read-all")
@require_auth
def read_all():
    return {"count": service.read_all(current_user())}


@bp.post("/<oid:notification_id>/dismiss")
@require_auth
def dismiss(notification_id: str):
    return service.dismiss(current_user(), notification_id)


@bp.delete("/<oid:notification_id>")
@require_auth
def delete_notification(notification_id: str):
    service.delete(current_user(), notification_id)
    return "", 204


@bp.get("/settings")
@require_auth
def get_settings():
    return settings_out(service.settings_of(current_user()))


@bp.put("/settings")
@require_auth
def update_settings():
    return settings_out(service.update_settings(current_user(), parse_body(SettingsIn)))


@bp.get("/channels/<oid:channel_id>/override")
@require_auth
def get_override(channel_id: str):
    override = service.override_of(current_user(), channel_id)
    # no override: an empty 200 body, which the client expects (HF §3.2)
    return Response("", 200, mimetype="text/plain") if override is None else override_out(override)


@bp.put("/channels/<oid:channel_id>/override")
@require_auth
def set_override(channel_id: str):
    return override_out(service.set_override(current_user(), channel_id, parse_body(OverrideIn).level))


@bp.delete("/channels/<oid:channel_id>/override")
@require_auth
def delete_override(channel_id: str):
    service.delete_override(current_user(), channel_id)
    return "", 204


@bp.post("/debug/send-test")
@require_auth
def send_test():
    return service.send_test(current_user(), parse_body(SendTestIn).type)


@bp.delete("/debug/clear-all")
@require_auth
def clear_all():
    return service.clear_all(current_user())
