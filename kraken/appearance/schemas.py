"""Appearance bodies: the PATCH takes only the listed values (400 otherwise)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from kraken.common.time import IsoDateTime
from kraken.common.validation import RequestModel

ThemeMode = Literal["dark", "light"]
AccentColor = Literal["teal", "blue", "indigo", "purple", "rose", "red", "orange", "amber", "lime", "emerald", "cyan",
                      "slate"]
Intensity = Literal["minimal", "balanced", "vibrant"]


class AppearancePatch(RequestModel):
    themeMode: ThemeMode | None = None
    accentColor: AccentColor | None = None
    intensity: Intensity | None = None


class AppearanceOut(BaseModel):
    id: str
    userId: str
    themeMode: ThemeMode
    accentColor: AccentColor
    intensity: Intensity
    createdAt: IsoDateTime
    updatedAt: IsoDateTime

    @classmethod
    def of(cls, a) -> dict[str, Any]:
        return cls(id=str(a.id), userId=str(a.user_id), themeMode=a.theme_mode, accentColor=a.accent_color,
                   intensity=a.intensity, createdAt=a.created_at, updatedAt=a.updated_at).model_dump(mode="json")
