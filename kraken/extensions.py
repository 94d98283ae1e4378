"""Bare extension singletons, bound to an app by `create_app`."""
from __future__ import annotations

import mongoengine
import redis as redis_lib
from flask import Flask, current_app
from flask_socketio import SocketIO

from kraken.adapters.jwt import VerifiedTokenCache
from kraken.adapters.redis import RedisLocation
from kraken.config import Settings
from kraken.tracking import TrackedKeys


REDIS_MAX_CONNECTIONS = 256  # per process
# Keys read by every request or event, held per process while Redis tracks them (kraken.tracking):
# access-token and session revocation markers (kraken.auth.service), cache generations (kraken.permcache).
TRACKED_PREFIXES = ("kraken:auth:revoked-", "kraken:cache:permgen:")
# The recent-history lists (kraken.messages.recent), bounded apart: up to 200 messages each, so 512
# keys (a list and its marker per channel) hold the newest messages of 256 channels, ~20 MB.
TRACKED_HISTORY_PREFIX = "kraken:cache:recent"
TRACKED_HISTORY_KEYS = 512


class RedisClient:
    """The app's Redis connection pool, created by `init_app`; attribute access is delegated."""

    def __init__(self) -> None:
        self._client: redis_lib.Redis | None = None
        self.location: RedisLocation | None = None
        self.tracked = TrackedKeys(TRACKED_PREFIXES)
        self.tracked_history = TrackedKeys((TRACKED_HISTORY_PREFIX,), maxsize=TRACKED_HISTORY_KEYS)

    def init_app(self, settings: Settings) -> None:
        # redis-py's default pool raises "Too many connections" past 100; thousands of greenlets (a
        # reconnect storm: 5,000 sockets closing and coming back) wait for a free connection instead.
        self.location = location = redis_location(settings)
        pool = location.pool(decode_responses=True, max_connections=REDIS_MAX_CONNECTIONS, timeout=5,
                             socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=30)
        self._client = redis_lib.Redis(connection_pool=pool)
        # the tracking connections ask for the master's address at each (re)connect
        self.tracked.configure(location.master_url)
        self.tracked_history.configure(location.master_url)

    @property
    def client(self) -> redis_lib.Redis:
        if self._client is None:
            raise RuntimeError("Redis is not initialised; call create_app first")
        return self._client

    def __getattr__(self, name: str):
        return getattr(self.client, name)


def redis_location(settings: Settings) -> RedisLocation:
    """Where this app's Redis is: REDIS_URL, or the master REDIS_SENTINELS name."""
    return RedisLocation(settings.redis_url, settings.redis_sentinels, settings.redis_sentinel_master,
                         settings.redis_sentinel_password)


def init_mongo(settings: Settings) -> None:
    """(Re)connect MongoEngine's default alias; lazy, so it is safe before a fork."""
    mongoengine.disconnect(alias="default")
    mongoengine.connect(host=settings.mongodb_url, alias="default", connect=False, tz_aware=True,
                        uuidRepresentation="standard", serverSelectionTimeoutMS=2500,
                        connectTimeoutMS=2000, socketTimeoutMS=10000)


socketio = SocketIO()
jwt = VerifiedTokenCache()
redis = RedisClient()


def init_extensions(app: Flask, settings: Settings) -> None:
    redis.init_app(settings)
    init_mongo(settings)
    jwt.init_app(app)


def settings() -> Settings:
    """The settings of the app in context (create_app stores them; every other module reads them here)."""
    return current_app.extensions["kraken.settings"]
