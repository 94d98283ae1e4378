"""Real-time layer: event names, rooms, publishing and the connection handlers."""
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


def init_realtime(app: Flask, settings: Settings) -> None:
    from kraken.realtime.connection import register_connection_handlers
    socketio.init_app(app, message_queue=settings.redis_url, channel="kraken-socketio",
                      cors_allowed_origins=list(settings.cors_origins), cors_credentials=True,
                      async_mode=_async_mode(), max_http_buffer_size=1_000_000,
                      ping_interval=25, ping_timeout=20)
    register_connection_handlers()
