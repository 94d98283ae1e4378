"""flask-jwt-extended wiring: user loading, revocation checks and 401 envelopes."""
from __future__ import annotations

from bson import ObjectId
from flask import Flask

from kraken import dependents
from kraken.auth.service import is_revoked, remirror_revocations
from kraken.config import Settings
from kraken.errors import error_response
from kraken.extensions import jwt
from kraken.users.lookups import active_user


def configure_jwt(app: Flask, settings: Settings) -> None:
    app.config.update(
        JWT_SECRET_KEY=settings.jwt_secret,
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_ACCESS_TOKEN_EXPIRES=settings.access_token_ttl,
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ERROR_MESSAGE_KEY="message",
    )

    # flask-jwt-extended checks the blocklist before it loads the user: the revocation check's
    # round trip also reads the user's cache generation, which the user lookup then finds held.
    @jwt.token_in_blocklist_loader
    def _revoked(_header, claims) -> bool:
        if not ObjectId.is_valid(claims.get("sub", "")):
            return True
        return is_revoked(claims, user_lookup_next=True)

    @jwt.user_lookup_loader
    def _load_user(_header, claims):
        if not ObjectId.is_valid(claims.get("sub", "")):
            return None
        return active_user(claims["sub"])

    def _remirror() -> None:
        # a session revoked while Redis was away (or lost with its data) is only in the database:
        # write its marker again
        remirror_revocations(settings.access_token_ttl)

    dependents.when_redis_back("auth.revocations", _remirror)

    def _unauthorized(*_args):
        return error_response(401, "Unauthorized", "UNAUTHORIZED")

    jwt.unauthorized_loader(_unauthorized)
    jwt.invalid_token_loader(_unauthorized)
    jwt.expired_token_loader(_unauthorized)
    jwt.revoked_token_loader(_unauthorized)
    jwt.user_lookup_error_loader(_unauthorized)
    jwt.needs_fresh_token_loader(_unauthorized)
