"""Health checks: `GET /api`, `/api/health` (dependencies really pinged), `/api/health/live`."""
from kraken.health.routes import bp

__all__ = ["bp"]
