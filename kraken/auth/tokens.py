"""Refresh-token secrets: `<familyId>.<256-bit secret>`, hashed with HMAC-SHA256 for storage."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from kraken.common.ids import is_object_id

COOKIE_NAME = "refresh_token"


def new_secret(family_id: str) -> str:
    return f"{family_id}.{secrets.token_urlsafe(32)}"


def token_hash(token: str, key: str) -> str:
    return hmac.new(key.encode(), token.encode(), hashlib.sha256).hexdigest()


def family_id_from_cookie(token: str | None) -> str | None:
    """The family id part of a well-formed refresh cookie, else None (no lookup)."""
    if not token or len(token) > 200 or "." not in token:
        return None
    family_id = token.split(".", 1)[0]
    return family_id if is_object_id(family_id) else None
