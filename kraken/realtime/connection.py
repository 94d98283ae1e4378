"""Socket.IO connect/disconnect: a limit on attempts and authentication at connect
(docs/decisions/0014-socket-authentication-and-rooms.md; `connect_error` messages of
kraken-later-endpoints §11), presence, the user room."""
from __future__ import annotations

import logging
import threading

from flask import request, session
from flask_jwt_extended import decode_token
from flask_socketio import ConnectionRefusedError, join_room
from gevent.pool import Pool

from kraken import domain, extensions
from kraken.auth.service import is_revoked
from kraken.common.ids import is_object_id
from kraken.extensions import socketio
from kraken.presence import service as presence
from kraken.realtime import limits, names
from kraken.realtime.packets import RefusedPayload
from kraken.realtime.rooms import user_room
from kraken.users.lookups import active_user

log = logging.getLogger("kraken.realtime")
_shutdown = threading.Event()  # set once this process closes its sockets for a SIGTERM


def _token(auth: object) -> str | None:
    raw = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(raw, str):
        raw = request.headers.get("Authorization")
    if not isinstance(raw, str) or not raw:
        return None
    return raw[7:] if raw.startswith("Bearer ") else raw


def authenticate(token: str | None):
    """(claims, user) for a valid, unrevoked access token of an active user, else None."""
    if not token:
        return None
    try:
        claims = decode_token(token)
    except Exception:
        return None
    if claims.get("type") != "access" or not is_object_id(claims.get("sub")):
        return None
    if is_revoked(claims, user_lookup_next=True):
        return None
    user = active_user(claims["sub"])
    return (claims, user) if user is not None else None


def _client_ip() -> str:
    """The peer, or the address the trusted proxies saw (the Socket.IO server sits in front of
    the WSGI app's ProxyFix, so it is read here the same way)."""
    trusted = extensions.settings().trusted_proxies
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    if trusted and len(hops) >= trusted:
        return hops[-trusted]
    return request.remote_addr or "unknown"


def _connect_key(token: str | None) -> str:
    """Connection attempts count per user when the token's signature holds (expired or not),
    else per IP (kraken.realtime.limits.CONNECTS)."""
    if token:
        try:
            return "user:" + str(decode_token(token, allow_expired=True)["sub"])
        except Exception:
            pass
    return "ip:" + _client_ip()


def on_connect(auth=None):
    if isinstance(auth, RefusedPayload):  # an auth payload the parser refused: no token to try
        log.info("socket refused", extra={"event": "connect", "reason": auth.error.code})
        raise ConnectionRefusedError(names.CONNECT_AUTH_FAILED)
    token = _token(auth)
    # the client sees connect_error with these messages, and no connection
    if not limits.socket_limiter.hit(limits.CONNECTS, "connect", _connect_key(token)):
        raise ConnectionRefusedError(names.CONNECT_RATE_LIMITED)
    found = authenticate(token)
    if found is None:
        raise ConnectionRefusedError(names.CONNECT_AUTH_FAILED)
    claims, user = found
    session["user_id"] = str(user.id)
    session["user"] = user
    session["claims"] = {k: claims.get(k) for k in ("sub", "jti", "exp", "sid")}
    join_room(user_room(user.id))
    presence.connected(user, request.sid, claims.get("sid"))
    log.info("socket connected", extra={"event": "connect", "user_id": str(user.id), "sid": request.sid})


def on_disconnect(reason=None):
    user = session.get("user")
    if user is not None:
        presence.disconnected(user, request.sid, shutting_down=_shutdown.is_set())
        domain.socket_closed.send(user, sid=request.sid)
    log.info("socket disconnected", extra={"event": "disconnect", "user_id": session.get("user_id"),
                                             "sid": request.sid, "reason": str(reason)})


def close_local_sockets_when(stopping, after_seconds: float = 1.2, poll_seconds: float = 0.2) -> None:
    """Once `stopping()` is true (the worker got SIGTERM), close every Socket.IO transport this process
    holds instead of letting gunicorn wait out its graceful timeout: clients see the transport close
    and reconnect at once (to another process behind the proxy, or to this one's replacement).
    Each socket goes through on_disconnect, so presence and voice state stay right.

    `after_seconds`: gunicorn's gevent worker checks its flag once a second before it stops accepting;
    closing earlier would let clients reconnect to this dying worker and hold it open."""

    def watch() -> None:
        while not stopping():
            socketio.sleep(poll_seconds)
        socketio.sleep(after_seconds)
        _shutdown.set()
        closing = list(socketio.server.eio.sockets.values())
        log.info("closing sockets for shutdown", extra={"event": "shutdown", "count": len(closing)})
        # each close runs its disconnect handler (Redis round trips): overlap them
        Pool(SHUTDOWN_CONCURRENCY).map(_close_transport, closing)

    socketio.start_background_task(watch)


SHUTDOWN_CONCURRENCY = 64


def _close_transport(sock) -> None:
    try:
        sock.close(wait=False, abort=True)
    except Exception:  # already closing, or a handler failed: the process is exiting anyway
        log.debug("closing a socket failed", exc_info=True)
