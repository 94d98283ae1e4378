"""The UserAppearanceSettings document: one per user, created on first read or write."""
from __future__ import annotations

from mongoengine import DateTimeField, Document, ObjectIdField, StringField

from kraken.common.time import utcnow

THEME_MODES = ("dark", "light")
ACCENT_COLORS = ("teal", "blue", "indigo", "purple", "rose", "red", "orange", "amber", "lime", "emerald", "cyan",
                 "slate")
INTENSITIES = ("minimal", "balanced", "vibrant")


class AppearanceSettings(Document):
    meta = {"collection": "appearance_settings", "indexes": [{"fields": ["user_id"], "unique": True}]}

    user_id = ObjectIdField(required=True, db_field="userId")
    theme_mode = StringField(choices=THEME_MODES, default="dark", db_field="themeMode")
    accent_color = StringField(choices=ACCENT_COLORS, default="blue", db_field="accentColor")
    intensity = StringField(choices=INTENSITIES, default="minimal")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
    updated_at = DateTimeField(default=utcnow, db_field="updatedAt")
