"""Health checks: `GET /api`, `/api/health` (dependencies really pinged), `/api/health/live`."""
