"""Shared bench helpers: a private database, users and a community made through the services."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_settings(db: str, redis_db: int = 12, **overrides):
    from kraken.config import load_settings
    return load_settings({}, env="test", mongodb_url=f"mongodb://127.0.0.1:27017/{db}",
                         redis_url=f"redis://127.0.0.1:6379/{redis_db}", rate_limits=False, log_level="WARNING",
                         data_dir=Path(tempfile.mkdtemp()), argon2_memory_kib=1024, argon2_time_cost=1, **overrides)


def server_env(settings) -> dict[str, str]:
    return {"KRAKEN_ENV": "test", "MONGODB_URL": settings.mongodb_url, "REDIS_URL": settings.redis_url,
            "KRAKEN_DATA_DIR": str(settings.data_dir), "KRAKEN_RATE_LIMITS": "false",
            "KRAKEN_LOG_LEVEL": "WARNING", "JWT_SECRET": settings.jwt_secret,
            "JWT_REFRESH_SECRET": settings.jwt_refresh_secret, "PATH": os.environ.get("PATH", "")}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]
