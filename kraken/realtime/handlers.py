"""`socket_event`: the one wrapper every Socket.IO handler goes through.

It re-checks the connection's token (expiry, revocation) on every event, refuses a
payload the parser refused (kraken.realtime.packets: over 64 KiB, too deep, duplicate
keys, not JSON), counts the per-user limit, turns failures into the `exception` event
(decisions §1: no ack for a rejected event) and logs the event as a JSON line with its
timing. Events without a handler are ignored, unless their payload was refused.
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

from kraken.errors import (KrakenError, RateLimitedError, ServiceUnavailableError, UnauthorizedError,
                           socket_envelope)
from kraken.extensions import socketio
from kraken.realtime import limits, names
from kraken.realtime.packets import RefusedPayload

log = logging.getLogger("kraken.realtime")
# (event name, handler): registered on each app's Socket.IO server by register_all()
_REGISTRY: list[tuple[str, Callable]] = []


def current_actor():
    """The user of this socket (loaded at connect)."""
    return session["user"]


def _check_token() -> None:
    from kraken.auth.service import is_revoked
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
    # a rejected event gets no ack at all (decisions §1), not an empty one
    return socketio.server.not_handled


def socket_event(name: str, tier: str = limits.DEFAULT) -> Callable:
    """Register `fn(actor, *payload)` for event `name`; its return value is the ack."""

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def handler(*args: Any):
            return _run(name, tier, fn, args)

        _REGISTRY.append((name, handler))
        return fn

    return decorator


def _unhandled(event: str, *args: Any):
    """Events no handler is registered for: ignored as before, except that a payload the parser
    refused (an unknown or unreadable event's) is answered with the `exception` event."""
    if args and isinstance(args[0], RefusedPayload):
        return _run(event, limits.DEFAULT, lambda actor, *rest: None, args)
    return socketio.server.not_handled


def register_all() -> None:
    """Attach every event handler (and connect/disconnect) to the current Socket.IO server."""
    from kraken.messages import events as _message_events  # noqa: F401 - registers handlers
    from kraken.realtime import connection, events as _room_events  # noqa: F401
    from kraken.voice import events as _voice_events  # noqa: F401
    socketio.on("connect")(connection.on_connect)
    socketio.on("disconnect")(connection.on_disconnect)
    for name, handler in _REGISTRY:
        socketio.on(name)(handler)
    socketio.on("*")(_unhandled)
