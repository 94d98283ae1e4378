"""Socket.IO set-up, called by the app factory: the server, its Redis queue, the strict packet parser,
the pre-encoded frames, the socket limiter, presence settings and the event handlers."""
from __future__ import annotations

import sys

from flask import Flask
from redis.connection import parse_url

from kraken.adapters import engineio as frames
from kraken.config import Settings
from kraken.direct_messages import events as dm_events
from kraken.extensions import redis_location, socketio
from kraken.messages import events as message_events
from kraken.presence import service as presence
from kraken.read_state import events as read_state_events
from kraken.realtime import connection, events as room_events, handlers
from kraken.realtime.limits import socket_limiter
from kraken.realtime.packets import KrakenPacket
from kraken.realtime.queue import ReliableRedisManager
from kraken.threads import events as thread_events
from kraken.voice import events as voice_events, service as voice


def _async_mode() -> str:
    monkey = sys.modules.get("gevent.monkey")
    return "gevent" if monkey is not None and monkey.is_module_patched("socket") else "threading"


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
    return f"kraken-socketio:{parse_url(redis_url).get('db', 0)}"


def init_realtime(app: Flask, settings: Settings) -> None:
    location = redis_location(settings)
    manager = ReliableRedisManager(location.master_url if location.uses_sentinel else settings.redis_url,
                                   channel=queue_channel(settings.redis_url))
    # packets (and engine.io's own JSON) are read by the one strict parser (kraken.realtime.packets)
    socketio.init_app(app, client_manager=manager,
                      cors_allowed_origins=_origin_checker(settings.cors_origins), cors_credentials=True,
                      async_mode=_async_mode(), max_http_buffer_size=1_000_000,
                      ping_interval=25, ping_timeout=20, serializer=KrakenPacket, json=KrakenPacket.json)
    frames.install(socketio.server)
    socket_limiter.init(*location.limits_storage(), enabled=settings.rate_limits)
    presence.configure(settings.presence_ttl, settings.presence_grace)
    voice.configure(settings.voice_presence_ttl)
    presence.declare_tasks()
    voice.declare_tasks()
    handlers.register(socketio, (message_events.socket_events, room_events.socket_events, voice_events.socket_events,
                                dm_events.socket_events, thread_events.socket_events,
                                read_state_events.socket_events),
                      connection.on_connect, connection.on_disconnect)
