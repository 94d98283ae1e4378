"""Appearance settings: read (created with the defaults when missing) and partial update (an upsert);
a deleted account's row goes with it."""
from __future__ import annotations

from mongoengine import NotUniqueError

from kraken import domain
from kraken.appearance.models import AppearanceSettings
from kraken.common.time import utcnow


def get(user) -> AppearanceSettings:
    """The user's row, created with the defaults on first read (a concurrent first read finds the other's)."""
    row = AppearanceSettings.objects(user_id=user.id).first()
    if row is not None:
        return row
    try:
        return AppearanceSettings(user_id=user.id).save(force_insert=True)
    except NotUniqueError:
        return AppearanceSettings.objects(user_id=user.id).first()


def update(user, changes: dict) -> AppearanceSettings:
    """Apply themeMode, accentColor and/or intensity (already validated); creates the row if needed."""
    row = get(user)
    fields = {"themeMode": "theme_mode", "accentColor": "accent_color", "intensity": "intensity"}
    update = {f"set__{fields[k]}": v for k, v in changes.items() if v is not None}
    if update:
        AppearanceSettings.objects(id=row.id).update_one(set__updated_at=utcnow(), **update)
        row.reload()
    return row


def _user_removing(user) -> None:
    AppearanceSettings.objects(user_id=user.id).delete()


def init_app() -> None:
    domain.connect(domain.user_removing, _user_removing)
