"""Socket.IO connect/disconnect: authentication at connect (decisions §5)."""
from __future__ import annotations

import logging

from flask import request, session
from flask_jwt_extended import decode_token
from flask_socketio import join_room

from kraken.extensions import socketio
from kraken.realtime import sockets
from kraken.realtime.rooms import user_room

log = logging.getLogger("kraken.realtime")


def _token(auth: object) -> str | None:
    raw = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(raw, str):
        raw = request.headers.get("Authorization")
    if not isinstance(raw, str) or not raw:
        return None
    return raw[7:] if raw.startswith("Bearer ") else raw


def authenticate(auth: object) -> dict | None:
    """The claims of a valid, unrevoked access token of an active user, else None."""
    from kraken.auth.service import is_revoked
    from kraken.users.models import User
    token = _token(auth)
    if not token:
        return None
    try:
        claims = decode_token(token)
    except Exception:
        return None
    if claims.get("type") != "access" or is_revoked(claims):
        return None
    if not User.objects(id=claims["sub"], disabled__ne=True).count():
        return None
    return claims


def register_connection_handlers() -> None:
    @socketio.on("connect")
    def on_connect(auth=None):
        claims = authenticate(auth)
        if claims is None:
            raise ConnectionRefusedError("Unauthorized")
        session["user_id"] = claims["sub"]
        session["claims"] = {k: claims.get(k) for k in ("sub", "jti", "exp", "sid", "username")}
        join_room(user_room(claims["sub"]))
        sockets.add(claims["sub"], request.sid)
        log.info("socket connected", extra={"event": "connect", "user_id": claims["sub"], "sid": request.sid})

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        if session.get("user_id"):
            sockets.remove(session["user_id"], request.sid)
        log.info("socket disconnected", extra={"event": "disconnect", "user_id": session.get("user_id"),
                                                 "sid": request.sid})
