"""Refresh-token families (one per login) and their rotating tokens
(docs/decisions/0008-sessions-and-refresh-token-families.md)."""
from __future__ import annotations

from mongoengine import DateTimeField, Document, IntField, ObjectIdField, StringField

from kraken.common.time import utcnow


class RefreshFamily(Document):
    """One login session; revoking it kills every refresh token and access token issued for it."""

    meta = {"collection": "refresh_families",
            "indexes": [{"fields": ["user_id", "revoked_at"]}, {"fields": ["revoked_hour"]}]}

    user_id = ObjectIdField(required=True, db_field="userId")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
    expires_at = DateTimeField(required=True, db_field="expiresAt")
    revoked_at = DateTimeField(db_field="revokedAt")
    revoked_reason = StringField(db_field="revokedReason")
    # the hour of `revoked_at` (hours since the epoch): the recently revoked sessions are read by
    # equality, one hour at a time (kraken.auth.service.remirror_revocations); unset on families
    # revoked before migration 0017 more than a day before it ran
    revoked_hour = IntField(db_field="revokedHour")
    user_agent = StringField(max_length=256, db_field="userAgent")
    # the sessions page (HF §11): where it was last used from, and when (login, then each refresh);
    # unset on families opened before issue 22 (lastUsedAt is then the creation time)
    ip_address = StringField(max_length=64, db_field="ipAddress")
    last_used_at = DateTimeField(db_field="lastUsedAt")


class RefreshToken(Document):
    """One refresh secret, stored only as a keyed SHA-256 hash; single use (spent on rotation)."""

    meta = {"collection": "refresh_tokens",
            "indexes": [{"fields": ["token_hash"], "unique": True}, {"fields": ["family_id"]}]}

    token_hash = StringField(required=True, db_field="tokenHash")
    family_id = ObjectIdField(required=True, db_field="familyId")
    user_id = ObjectIdField(required=True, db_field="userId")
    created_at = DateTimeField(default=utcnow, db_field="createdAt")
    spent_at = DateTimeField(db_field="spentAt")
