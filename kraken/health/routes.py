"""Health routes."""
from __future__ import annotations

from flask import Blueprint

from kraken.ratelimits import limiter
from kraken.health import service

bp = Blueprint("health", __name__, url_prefix="/api")


@bp.get("")
@limiter.exempt
def hello():
    return "Hello World!", 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/health")
@limiter.exempt
def health():
    healthy, info = service.check()
    body = {"status": "ok" if healthy else "error", "info": info}
    if not healthy:
        body["error"] = {name: part for name, part in info.items() if part["status"] == "down"}
    return body, 200 if healthy else 503


@bp.get("/health/live")
@limiter.exempt
def live():
    return {"status": "ok"}
