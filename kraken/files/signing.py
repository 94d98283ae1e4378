"""Signed file URLs (KLE §2.4, HF §14, decision 0066): `?sig=&exp=&uid=` opens one file for a while.

`sig` is the lowercase hex HMAC-SHA256 of `"<fileId>:<userId>:<exp>"` (exp in Unix seconds). The key
is FILE_SIGNING_SECRET, or one derived from JWT_SECRET (never JWT_SECRET itself: a signature over
chosen text must not be usable as anything else). A URL names its file, so it opens no other; it is
refused after `exp`, and the reader's access is checked again on every use.
"""
from __future__ import annotations

import hashlib
import hmac
import time

from kraken import extensions

TTL_SECONDS = 3600  # KLE §2.4
_DERIVE = b"kraken signed file urls v1"
MAX_SIG_HEX = 64


def _key() -> bytes:
    settings = extensions.settings()
    if settings.file_signing_secret:
        return settings.file_signing_secret.encode()
    return hmac.new(settings.jwt_secret.encode(), _DERIVE, hashlib.sha256).digest()


def signature(file_id: str, user_id: str, expires: int) -> str:
    return hmac.new(_key(), f"{file_id}:{user_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def sign(file_id: str, user_id: str, now: float | None = None) -> tuple[str, int]:
    """(query string, exp) of a URL for this file and reader, valid for TTL_SECONDS."""
    expires = int(now if now is not None else time.time()) + TTL_SECONDS
    return f"sig={signature(file_id, user_id, expires)}&exp={expires}&uid={user_id}", expires


def valid(file_id: str, user_id: str, exp: str, sig: str, now: float | None = None) -> bool:
    """The signature is this file's and this reader's, and `exp` has not passed."""
    if not exp.isascii() or not exp.isdigit() or len(exp) > 12 or len(sig) != MAX_SIG_HEX:
        return False
    if (now if now is not None else time.time()) > int(exp):
        return False
    return hmac.compare_digest(signature(file_id, user_id, int(exp)), sig)
