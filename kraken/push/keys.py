"""The instance's VAPID key pair (RFC 8292): from the environment, else generated once and kept in the
database, whichever process inserts it first (docs/decisions/0068-web-push.md)."""
from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from mongoengine.errors import NotUniqueError

from kraken.config import Settings
from kraken.push.models import PushKeys

log = logging.getLogger("kraken.push")
KEYS_ID = "vapid"
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


@dataclass(frozen=True)
class Vapid:
    public_key: str   # base64url of the uncompressed P-256 point (what browsers take as applicationServerKey)
    private_key: str  # base64url of the 32-byte scalar
    subject: str      # mailto: or https: contact the push services may use
    source: str       # "environment" or "database"


def b64url_decode(value: str) -> bytes | None:
    """The bytes of a base64url string (padding optional), else None."""
    if not isinstance(value, str) or not _B64URL.match(value):
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _public_of(private: ec.EllipticCurvePrivateKey) -> str:
    return b64url(private.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint))


def generate() -> tuple[str, str]:
    """A new (public, private) pair, base64url."""
    private = ec.generate_private_key(ec.SECP256R1())
    return _public_of(private), b64url(private.private_numbers().private_value.to_bytes(32, "big"))


@lru_cache(maxsize=4)
def is_pair(public_key: str, private_key: str) -> bool:
    """True when `private_key` is a P-256 scalar whose public point is `public_key`."""
    raw = b64url_decode(private_key)
    if raw is None or len(raw) != 32:
        return False
    try:
        private = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError:
        return False
    return b64url_decode(public_key) == b64url_decode(_public_of(private))


def stored() -> PushKeys:
    """The database's pair, generated now when there is none. Processes starting together may each
    generate one; the first insert wins and every process uses the winner's (the others re-read)."""
    keys = PushKeys.objects(id=KEYS_ID).first()
    if keys is None:
        public, private = generate()
        try:
            PushKeys(id=KEYS_ID, public_key=public, private_key=private).save(force_insert=True)
            log.info("generated the VAPID key pair for web push")
        except NotUniqueError:
            pass  # another process won
        keys = PushKeys.objects(id=KEYS_ID).first()
    return keys


def vapid(settings: Settings) -> Vapid | None:
    """The keys push uses, or None when push is off (KRAKEN_PUSH=off) or the environment's pair is
    not a pair (logged: push stays off rather than signing with a key browsers were not given)."""
    if settings.push == "off":
        return None
    if settings.vapid_public_key and settings.vapid_private_key:
        if not is_pair(settings.vapid_public_key, settings.vapid_private_key):
            log.error("VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY: web push is off")
            return None
        return Vapid(settings.vapid_public_key, settings.vapid_private_key, settings.vapid_subject, "environment")
    keys = stored()
    return Vapid(keys.public_key, keys.private_key, settings.vapid_subject, "database")
