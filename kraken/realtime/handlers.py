"""`SocketEvents`: the one wrapper every Socket.IO handler goes through.

Each feature declares its handlers on a group of its own (`socket_events = SocketEvents()`,
`@socket_events.on(name, tier)`), as routes go on a blueprint; kraken.realtime.setup registers the
groups on the app's Socket.IO server.

It re-checks the connection's token (expiry, revocation) on every event, refuses a
payload the parser refused (kraken.realtime.packets: over 64 KiB, too deep, duplicate
keys, not JSON), counts the per-user limit, turns failures into the `exception` event (no ack
for a rejected event, docs/decisions/0003-one-error-envelope.md) and logs the event as a JSON line
with its timing. Events without a handler are ignored, unless their payload was refused.
"""
from __future__ import annotations

import logging
import time
from functools import wraps
from typing import Any, Callable

from flask import request, session
from flask_socketio import disconnect, emit
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from kraken.auth.service import is_revoked
from kraken.common.ids import parse_object_id
from kraken.errors import (KrakenError, RateLimitedError, ServiceUnavailableError, UnauthorizedError,
                           ValidationError, socket_envelope)
from kraken.extensions import socketio
from kraken.realtime import limits, names
from kraken.realtime.packets import RefusedPayload

log = logging.getLogger("kraken.realtime")


def current_actor():
    """The user of this socket (loaded at connect)."""
    return session["user"]


def id_from(payload, key: str) -> str:
    """Events take a bare id string (the contract) or `{<key>: id}`."""
    value = payload.get(key) if isinstance(payload, dict) else payload
    if not isinstance(value, str):
        raise ValidationError([f"{key}: a 24-hex id is required"])
    return str(parse_object_id(value))


def _check_token() -> None:
    claims = session.get("claims")
    if not claims or claims["exp"] <= time.time() or is_revoked(claims):
        raise UnauthorizedError("Unauthorized")


def _run(name: str, tier: str, fn: Callable, args: tuple) -> Any:
    """Handle one event: checks, `fn(actor, *args)`, the `exception` event on failure, one log line."""
    started = time.perf_counter()
    status = "ok"
    try:
        _check_token()
        if args and isinstance(args[0], RefusedPayload):
            raise args[0].error  # before the limit: the parser's refusal costs nothing to count
        actor = current_actor()
        if not limits.socket_limiter.hit(tier, name, str(actor.id)):
            raise RateLimitedError("Too Many Requests")
        return fn(actor, *args)
    except KrakenError as exc:
        status = exc.code
        emit(names.EXCEPTION, socket_envelope(exc, name))
        if isinstance(exc, UnauthorizedError):
            disconnect()
    except (PyMongoError, RedisError) as exc:
        status = "SERVICE_UNAVAILABLE"
        log.warning("dependency unavailable during a socket event",
                    extra={"event": name, "error_type": type(exc).__name__})
        emit(names.EXCEPTION, socket_envelope(ServiceUnavailableError(), name))
    except Exception:
        status = "INTERNAL_ERROR"
        log.exception("socket event failed", extra={"event": name})
        emit(names.EXCEPTION, socket_envelope(KrakenError(), name))
    finally:
        log.info("socket event", extra={
            "event": name, "status": status, "user_id": session.get("user_id"), "sid": request.sid,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
    # a rejected event gets no ack at all, not an empty one (docs/decisions/0003-one-error-envelope.md)
    return socketio.server.not_handled


class SocketEvents:
    """A feature's Socket.IO handlers, registered on a server by `register` (kraken.realtime.setup)."""

    def __init__(self) -> None:
        self.handlers: list[tuple[str, Callable]] = []

    def on(self, name: str, tier: str = limits.DEFAULT) -> Callable:
        """Declare `fn(actor, *payload)` for event `name`; its return value is the ack."""

        def decorator(fn: Callable) -> Callable:
            @wraps(fn)
            def handler(*args: Any):
                return _run(name, tier, fn, args)

            self.handlers.append((name, handler))
            return fn

        return decorator


def _unhandled(event: str, *args: Any):
    """Events no handler is registered for: ignored as before, except that a payload the parser
    refused (an unknown or unreadable event's) is answered with the `exception` event."""
    if args and isinstance(args[0], RefusedPayload):
        return _run(event, limits.DEFAULT, lambda actor, *rest: None, args)
    return socketio.server.not_handled


def register(server, groups: tuple[SocketEvents, ...], on_connect: Callable, on_disconnect: Callable) -> None:
    """Attach connect/disconnect, every group's handlers and the catch-all to a Socket.IO server."""
    server.on("connect")(on_connect)
    server.on("disconnect")(on_disconnect)
    for group in groups:
        for name, handler in group.handlers:
            server.on(name)(handler)
    server.on("*")(_unhandled)
