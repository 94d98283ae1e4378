"""Refresh-token secrets: `<familyId>.<tokenId>.<256-bit secret>`, hashed with HMAC-SHA256 for storage.

The ids let the server find the family (rate limits) and the token record by `_id` — the one lookup
FerretDB 1.x answers without a scan; the secret is what proves possession."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from kraken.common.ids import is_object_id

COOKIE_NAME = "refresh_token"


def new_secret(family_id: str, token_id: str) -> str:
    return f"{family_id}.{token_id}.{secrets.token_urlsafe(32)}"


def token_id_from_cookie(token: str | None) -> str | None:
    """The token record's id in a well-formed refresh cookie, else None (no lookup)."""
    parts = token.split(".", 2) if token and len(token) <= 200 else []
    return parts[1] if len(parts) == 3 and is_object_id(parts[0]) and is_object_id(parts[1]) else None


def token_hash(token: str, key: str) -> str:
    return hmac.new(key.encode(), token.encode(), hashlib.sha256).hexdigest()


def family_id_from_cookie(token: str | None) -> str | None:
    """The family id part of a well-formed refresh cookie, else None (no lookup)."""
    if not token or len(token) > 200 or "." not in token:
        return None
    family_id = token.split(".", 1)[0]
    return family_id if is_object_id(family_id) else None
