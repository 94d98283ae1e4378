"""The app factory: every blueprint, hook, handler, reaction and background task is wired here
(docs/architecture.md), never by importing a module."""
from __future__ import annotations

import sys

import gevent
from flask import Flask
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from kraken import dependents
from kraken.alias_groups import service as alias_groups
from kraken.alias_groups.routes import bp as alias_groups_bp
from kraken.appearance import service as appearance
from kraken.auth import service as auth
from kraken.auth.jwt_callbacks import configure_jwt
from kraken.auth.routes import bp as auth_bp
from kraken.channel_memberships.routes import bp as channel_memberships_bp
from kraken.channels.routes import bp as channels_bp
from kraken.cli import kraken_cli
from kraken.common.ids import ObjectIdConverter
from kraken.common.validation import parse_request_body
from kraken.communities.routes import bp as communities_bp
from kraken.config import Settings, load_settings
from kraken.direct_messages import service as direct_messages
from kraken.direct_messages.routes import bp as direct_messages_bp
from kraken.friends import service as friends
from kraken.friends.routes import blocks_bp as user_blocks_bp, bp as friends_bp
from kraken.errors import register_error_handlers
from kraken.extensions import init_extensions, redis
from kraken.files import service as files
from kraken.files.routes import bp as files_bp
from kraken.headers import register_security_headers
from kraken.health.routes import bp as health_bp
from kraken.instance.routes import bp as instance_bp
from kraken.invites.routes import bp as invites_bp
from kraken.livekit.routes import bp as livekit_bp
from kraken.logs import configure_logging, register_request_logging
from kraken.memberships.routes import bp as memberships_bp
from kraken.messages import service as messages
from kraken.messages.routes import bp as messages_bp
from kraken.moderation import service as moderation
from kraken.moderation.routes import bp as moderation_bp
from kraken.notifications import service as notifications
from kraken.notifications.routes import bp as notifications_bp
from kraken.onboarding.routes import bp as onboarding_bp
from kraken.openapi import bp as openapi_bp
from kraken.pins import service as pins
from kraken.pins.routes import bp as pins_bp
from kraken.presence import service as presence
from kraken.presence.routes import bp as presence_bp
from kraken.push import hooks as push_hooks
from kraken.push.routes import bp as push_bp
from kraken.ratelimits import init_rate_limits
from kraken.read_state import service as read_state
from kraken.read_state.routes import bp as read_state_bp
from kraken.realtime import subscriptions
from kraken.realtime.setup import init_realtime
from kraken.roles.routes import bp as roles_bp
from kraken.search import service as search
from kraken.search.routes import bp as search_bp
from kraken.storage_quota.routes import bp as storage_bp
from kraken.threads import service as threads
from kraken.threads.routes import bp as threads_bp
from kraken.users.routes import bp as users_bp
from kraken.voice import hooks as voice_hooks
from kraken.voice.routes import bp as voice_bp
from kraken.admin.routes import bp as admin_bp  # issue 22: running an instance from the client
from kraken.appearance.routes import bp as appearance_bp
from kraken.instance import hooks as instance_hooks

BLUEPRINTS = (health_bp, auth_bp, users_bp, instance_bp, onboarding_bp, communities_bp, channels_bp, memberships_bp,
              channel_memberships_bp, roles_bp, invites_bp, messages_bp, presence_bp, files_bp, openapi_bp, voice_bp,
              livekit_bp, direct_messages_bp, threads_bp, read_state_bp, search_bp, alias_groups_bp, push_bp,
              moderation_bp, friends_bp, user_blocks_bp, storage_bp, pins_bp, notifications_bp, admin_bp, appearance_bp)


class _TrailingSlashes:
    """`/api/users/` and `/api/users` are one route (the web client sends both, contract §1.9)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/api/") and len(path) > 5 and path.endswith("/"):
            environ["PATH_INFO"] = path.rstrip("/")
        return self.app(environ, start_response)


class _TakeTurns:
    """Under gevent, yield once per request. A warm request waits on no I/O (kraken.tracking
    holds what it checks in the process), so without this one keep-alive connection whose next
    request is already in the buffer is served again and again while the others wait: at
    concurrency 20 the p99 was 130-165 ms for a 17 ms p50."""

    def __init__(self, app):
        self.app, self._sleep = app, gevent.sleep

    def __call__(self, environ, start_response):
        self._sleep(0)
        return self.app(environ, start_response)


def _gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("socket")


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; `settings` default to the environment (see kraken.config)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)

    app = Flask(__name__, static_folder=None)
    app.extensions["kraken.settings"] = settings
    app.config.update(MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
                      JSON_SORT_KEYS=False)
    app.url_map.converters["oid"] = ObjectIdConverter
    app.url_map.strict_slashes = False

    configure_jwt(app, settings)
    init_extensions(app, settings)
    dependents.init_app(redis)  # redo cache writes that failed while Redis was away, once it is back
    init_rate_limits(app, settings)
    # after the limiter's hook: a refused body is still counted by the limits that count per IP
    app.before_request(parse_request_body)
    register_error_handlers(app)
    register_request_logging(app)
    register_security_headers(app)
    CORS(app, origins=list(settings.cors_origins), supports_credentials=True, always_send=False,
         expose_headers=["X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                         "X-RateLimit-Reset"])
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.cli.add_command(kraken_cli)
    _connect_reactions(settings)

    app.wsgi_app = _TrailingSlashes(app.wsgi_app)
    if _gevent_patched():
        app.wsgi_app = _TakeTurns(app.wsgi_app)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=1, x_host=1)
    init_realtime(app, settings)  # wraps wsgi_app last so /socket.io/ is served first
    return app


def _connect_reactions(settings: Settings) -> None:
    """Domain events (kraken.domain) to the features that react to them, in this order: rooms first
    (a removed member's sockets leave before voice announces their departure), then clean-ups."""
    subscriptions.init_app()
    voice_hooks.init_app()
    files.init_app()
    messages.init_app()
    read_state.init_app()
    threads.init_app()
    search.init_app(settings.search_sweep_seconds)
    alias_groups.init_app()
    push_hooks.init_app()
    moderation.init_app()
    pins.init_app()
    notifications.init_app()
    instance_hooks.init_app()  # the statistics counters
    # a deleted account (`user_removing`) in the features that react to nothing else; the ones above
    # connect theirs in their own init_app
    presence.init_app()
    direct_messages.init_app()
    friends.init_app()
    appearance.init_app()
    auth.init_app()
