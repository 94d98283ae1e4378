"""Dates on the wire: ISO-8601 UTC with milliseconds and `Z`, like JavaScript's toISOString."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import PlainSerializer


def utcnow() -> datetime:
    # MongoDB keeps milliseconds; truncate now so values compare equal after a round trip.
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# An output field holding a datetime, serialised the JavaScript way.
IsoDateTime = Annotated[datetime, PlainSerializer(iso, return_type=str)]
