"""Real-time layer: event names, rooms, publishing, the event wrapper and the connection handlers."""
from __future__ import annotations

from flask import Flask

from kraken.config import Settings
from kraken.extensions import socketio


def _async_mode() -> str:
    try:
        from gevent import monkey
        return "gevent" if monkey.is_module_patched("socket") else "threading"
    except ImportError:
        return "threading"


def _origin_checker(allowed: tuple[str, ...]):
    """Configured origins, plus the server's own (same-origin pages and proxies that keep Host)."""
    def check(origin: str | None, environ: dict | None = None) -> bool:
        if origin is None or origin in allowed:
            return True
        if environ:
            forwarded = environ.get("HTTP_X_FORWARDED_PROTO", environ.get("wsgi.url_scheme", "http"))
            host = environ.get("HTTP_X_FORWARDED_HOST") or environ.get("HTTP_HOST")
            return bool(host) and origin in (f"{forwarded}://{host}", f"{environ.get('wsgi.url_scheme')}://{host}")
        return False
    return check


def queue_channel(redis_url: str) -> str:
    """The pub/sub channel of the Socket.IO queue. Pub/sub ignores Redis DB numbers, so the DB is part
    of the name: instances sharing a Redis server on different DBs must not hear each other."""
    from redis.connection import parse_url
    return f"kraken-socketio:{parse_url(redis_url).get('db', 0)}"


def init_realtime(app: Flask, settings: Settings) -> None:
    from kraken.realtime import frames
    from kraken.realtime.handlers import register_all
    from kraken.realtime.limits import socket_limiter
    from kraken.realtime.packets import KrakenPacket
    from kraken.realtime.queue import ReliableRedisManager
    manager = ReliableRedisManager(settings.redis_url, channel=queue_channel(settings.redis_url))
    # packets (and engine.io's own JSON) are read by the one strict parser (kraken.realtime.packets)
    socketio.init_app(app, client_manager=manager,
                      cors_allowed_origins=_origin_checker(settings.cors_origins), cors_credentials=True,
                      async_mode=_async_mode(), max_http_buffer_size=1_000_000,
                      ping_interval=25, ping_timeout=20, serializer=KrakenPacket, json=KrakenPacket.json)
    frames.install(socketio.server)
    socket_limiter.init(settings.redis_url, enabled=settings.rate_limits)
    from kraken.presence.service import configure as configure_presence
    configure_presence(settings.presence_ttl, settings.presence_grace)
    register_all()
