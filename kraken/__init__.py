"""Kraken: a self-hosted, Discord-like chat server (Flask + Socket.IO + MongoDB + Redis)."""
from __future__ import annotations


def create_app(settings=None):
    """Build the app (kraken.app.create_app)."""
    from kraken.app import create_app as build  # start-up cost: `import kraken.config` must not load the app
    return build(settings)
