"""Error codes, the KrakenError hierarchy and the one JSON envelope (HTTP and Socket.IO).

HTTP: `{"statusCode", "error", "message", "code"}` (docs/decisions/0003-one-error-envelope.md), `message` a list
of strings for validation errors. Socket.IO: `{"status": "error", "message", "code",
"cause": {"pattern": <event>}}` sent as the `exception` event.
"""
from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify
from limits.errors import StorageError
from mongoengine.errors import ValidationError as MongoValidationError
from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
from werkzeug.exceptions import BadRequest, HTTPException

log = logging.getLogger("kraken.errors")


class KrakenError(Exception):
    """Base of every error a client can cause; carries status, code and message."""

    status = 500
    code = "INTERNAL_ERROR"
    default_message = "Internal server error"

    def __init__(self, message: str | list[str] | None = None, *, code: str | None = None,
                 headers: dict[str, str] | None = None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.headers = headers or {}
        super().__init__(self.message if isinstance(self.message, str) else "; ".join(self.message))


class ValidationError(KrakenError):
    status, code, default_message = 400, "VALIDATION_FAILED", "Validation failed"


class InvalidObjectIdError(ValidationError):
    code, default_message = "INVALID_OBJECT_ID", "Invalid ObjectId"


class UnauthorizedError(KrakenError):
    status, code, default_message = 401, "UNAUTHORIZED", "Unauthorized"


class ForbiddenError(KrakenError):
    status, code, default_message = 403, "FORBIDDEN", "Forbidden resource"


class FeatureDisabledError(ForbiddenError):
    code, default_message = "FEATURE_DISABLED", "This feature is disabled on this instance"


class NotFoundError(KrakenError):
    status, code, default_message = 404, "NOT_FOUND", "Not found"


class ConflictError(KrakenError):
    status, code, default_message = 409, "CONFLICT", "Conflict"


class GoneError(KrakenError):
    status, code, default_message = 410, "GONE", "No longer available"


class PayloadTooLargeError(KrakenError):
    status, code, default_message = 413, "PAYLOAD_TOO_LARGE", "Payload too large"


class RateLimitedError(KrakenError):
    status, code, default_message = 429, "TOO_MANY_REQUESTS", "Too Many Requests"


class ServiceUnavailableError(KrakenError):
    status, code, default_message = 503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable"


class VoiceNotConfiguredError(ServiceUnavailableError):
    code, default_message = "VOICE_NOT_CONFIGURED", "Voice is not configured on this instance"


class InvalidObjectIdInPath(BadRequest):
    """Raised by the `oid` URL converter; Werkzeug keeps HTTPExceptions from routing."""

    description = "Invalid ObjectId"
    kraken_code = "INVALID_OBJECT_ID"


_CODES_BY_STATUS = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                    405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE",
                    415: "UNSUPPORTED_MEDIA_TYPE", 429: "TOO_MANY_REQUESTS",
                    503: "SERVICE_UNAVAILABLE"}


def envelope(status: int, message: str | list[str], code: str) -> dict[str, Any]:
    """The HTTP error body of docs/decisions/0003-one-error-envelope.md."""
    return {"statusCode": status, "error": HTTPStatus(status).phrase, "message": message, "code": code}


def socket_envelope(exc: KrakenError, event: str) -> dict[str, Any]:
    """The payload of the `exception` event sent to the socket that emitted `event`."""
    return {"status": "error", "message": exc.message, "code": exc.code, "cause": {"pattern": event}}


def error_response(status: int, message: str | list[str], code: str,
                   headers: dict[str, str] | None = None) -> Response:
    response = jsonify(envelope(status, message, code))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _handle_kraken_error(exc: KrakenError) -> Response:
    return error_response(exc.status, exc.message, exc.code, exc.headers)


def _handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = getattr(exc, "kraken_code", None) or _CODES_BY_STATUS.get(status, "HTTP_ERROR")
    message = exc.description if status != 404 or isinstance(exc, InvalidObjectIdInPath) else "Not Found"
    response = error_response(status, message, code)
    if status == 405 and exc.get_response().headers.get("Allow"):
        response.headers["Allow"] = exc.get_response().headers["Allow"]
    return response


def _handle_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(500, "Internal server error", "INTERNAL_ERROR")


def register_error_handlers(app: Flask) -> None:
    """Route every failure through the one envelope; dependency outages become 503."""

    def _dependency_down(exc: Exception) -> Response:
        log.warning("dependency unavailable", extra={"error_type": type(exc).__name__, "detail": str(exc)[:200]})
        return error_response(503, "Service temporarily unavailable", "SERVICE_UNAVAILABLE")

    def _mongo_validation(exc: MongoValidationError) -> Response:
        # Services validate first; this is a guard so a missed case is a 400, never a 500.
        log.warning("document validation failed", extra={"detail": str(exc)[:200]})
        return error_response(400, ["Invalid value"], "VALIDATION_FAILED")

    app.register_error_handler(KrakenError, _handle_kraken_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    for exc_type in (ServerSelectionTimeoutError, AutoReconnect, ConnectionFailure,
                     RedisConnectionError, RedisTimeoutError, StorageError):
        app.register_error_handler(exc_type, _dependency_down)
    app.register_error_handler(MongoValidationError, _mongo_validation)
    app.register_error_handler(Exception, _handle_unexpected)
