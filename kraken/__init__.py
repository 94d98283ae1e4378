"""Kraken: a self-hosted, Discord-like chat server (Flask + Socket.IO + MongoDB + Redis)."""
from __future__ import annotations


def create_app(settings=None):
    """Build the app (kraken.app.create_app)."""
    # start-up cost: importing any kraken module (kraken.config from gunicorn.conf.py before gevent
    # patches, the CLI, a migration) runs this file; the whole app loads only when one is built.
    from kraken.app import create_app as build
    return build(settings)
