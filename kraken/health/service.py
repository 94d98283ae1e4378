"""Dependency checks for `/api/health`."""
from __future__ import annotations

import mongoengine

from kraken.extensions import redis
from kraken.livekit.rooms import ping


def _database() -> dict:
    try:
        mongoengine.get_db().command("ping")
        return {"status": "up"}
    except Exception as exc:
        return {"status": "down", "message": type(exc).__name__}


def _redis() -> dict:
    try:
        redis.ping()
        return {"status": "up"}
    except Exception as exc:
        return {"status": "down", "message": type(exc).__name__}


def _livekit() -> dict:
    """Informational only: voice being down does not make the instance unhealthy."""
    alive = ping(timeout=1.5)
    return {"status": "disabled" if alive is None else "up" if alive else "down"}


def check() -> tuple[bool, dict]:
    """(healthy, info): healthy when the database and Redis both answer."""
    info = {"database": _database(), "redis": _redis(), "livekit": _livekit()}
    return info["database"]["status"] == "up" and info["redis"]["status"] == "up", info
