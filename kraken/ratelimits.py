"""Named throttle tiers (docs/decisions/0024-rate-limits.md) and the keys they count by.

HTTP limits use flask-limiter on the shared Redis so every process counts
together. Keys are per authenticated user where there is one (clients behind
one NAT must not starve each other) and per IP otherwise. Every tier counts per
route. The figures behind them are in the README ("Rate limits").
"""
from __future__ import annotations

import hashlib

from flask import Flask, g, request
from flask_jwt_extended import decode_token
from flask_limiter import Limiter

from kraken import extensions
from kraken.auth.tokens import family_id_from_cookie
from kraken.common.validation import request_json
from kraken.config import Settings
from kraken.errors import KrakenError, RateLimitedError, ServiceUnavailableError, error_response
from kraken.extensions import redis, redis_location

# Writes (every method but GET/HEAD) unless a route says otherwise: the contract's three tiers,
# a burst guard, a short-term and a minute budget. Message sends, edits, reactions, invites and
# community or channel creation stay this strict: the web client writes one thing per user action.
WRITE_TIERS = "3 per 1 second;20 per 10 seconds;100 per 1 minute"

# Reads (GET) unless a route says otherwise. A page load of the current web client calls each list
# route once or twice (a cache miss and a refetch on focus or on a socket event), a channel switch
# each of its three routes once; the reference's own defaults (kraken-later-endpoints §10).
READ_TIERS = "20 per 1 second;100 per 10 seconds;500 per 1 minute"

# Per-item lookups the client makes once per user or file *shown*: `GET /api/users/:id` for each
# member listed and each author in view, `GET /api/file/:id` for each avatar and image. A page load
# of a 50-member community makes ~50 of each within a second; twice that passes, and so do five
# reloads in 10 s.
LOOKUP_TIERS = "100 per 1 second;500 per 10 seconds;2000 per 1 minute"

# Login: generous per IP (a household or office shares one), strict per
# username on *failures* so a password cannot be guessed from many IPs.
LOGIN_PER_IP = "30 per 1 minute"
LOGIN_FAILURES_PER_USERNAME = "5 per 1 minute;20 per 1 hour"

# Refresh: the web client refreshes on every page load and after every 401
# (two tabs behind one IP make ~20 calls in 15 s), so count per token family;
# the per-IP budget only stops floods of forged cookies.
REFRESH_PER_FAMILY = "30 per 10 seconds;300 per 1 hour"
REFRESH_PER_IP = "120 per 1 minute"

# Logout is cheap and idempotent; keep it from being a write amplifier.
LOGOUT_PER_IP = "10 per 1 second;60 per 1 minute"

# Registration: invites are scarce; stop scripted sign-up bursts per IP.
REGISTER_PER_IP = "3 per 1 second;10 per 1 minute"


def default_tiers() -> str:
    """The default limit of a route that names none: by method (flask-limiter asks per request)."""
    return READ_TIERS if request.method in ("GET", "HEAD") else WRITE_TIERS


def limits_disabled() -> bool:
    return not extensions.settings().rate_limits


def limit(value: str, **kwargs):
    """A route limit that this app's settings can switch off (limits are on by default)."""
    return limiter.limit(value, exempt_when=limits_disabled, **kwargs)


def client_ip() -> str:
    return request.remote_addr or "unknown"


def default_key() -> str:
    """The caller's user id from a valid access token, else their IP."""
    if "ratelimit_key" in g:
        return g.ratelimit_key
    key = f"ip:{client_ip()}"
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        try:
            key = f"user:{decode_token(header[7:])['sub']}"
        except Exception:  # an invalid token is answered by the route itself
            pass
    g.ratelimit_key = key
    return key


# The one limiter of the app (flask-limiter, on the shared Redis once init_rate_limits ran).
limiter = Limiter(key_func=default_key)


def ip_key() -> str:
    return f"ip:{client_ip()}"


def login_username_key() -> str:
    """The username of a login attempt, read by the one request parser (kraken.common.validation):
    a body it refuses is never parsed another way, and counts under no username."""
    try:
        username = request_json().get("username")
    except KrakenError:
        username = None
    if not isinstance(username, str):
        return "login-user:-"
    return "login-user:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def refresh_family_key() -> str:
    return f"refresh-family:{family_id_from_cookie(request.cookies.get('refresh_token')) or client_ip()}"


def failed_login(response) -> bool:
    return response.status_code == 401


def require_redis() -> None:
    """Auth routes fail closed when Redis (rate limits, revocation) is unreachable."""
    try:
        redis.ping()
    except Exception:
        raise ServiceUnavailableError("Authentication is temporarily unavailable") from None


_filter_registered = False


def init_rate_limits(app: Flask, settings: Settings) -> None:
    storage_uri, storage_options = redis_location(settings).limits_storage()  # redis:// or redis+sentinel://
    app.config.update(
        RATELIMIT_DEFAULTS_EXEMPT_WHEN=limits_disabled,
        RATELIMIT_STORAGE_URI=storage_uri,
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 2, "max_connections": 1024,
                                   **storage_options},
        RATELIMIT_STRATEGY="fixed-window",
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_DEFAULT=default_tiers,
        RATELIMIT_KEY_PREFIX="kraken:rl",
        # With Redis down, count in memory per process rather than answer 500;
        # the auth routes call require_redis() and fail closed instead.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=False,
    )
    limiter.init_app(app)
    global _filter_registered
    if not _filter_registered:  # one shared limiter; the filter asks the current app
        # Checked before flask-limiter resolves a route's limits (~16% of a warm request's CPU).
        limiter.request_filter(limits_disabled)
        _filter_registered = True

    @app.errorhandler(429)
    def _too_many(exc):
        # flask-limiter adds X-RateLimit-* and Retry-After to this response afterwards.
        return error_response(429, "Too Many Requests", RateLimitedError.code)
