"""Presence: online while a user has a live socket on any process; REST lookups."""
from kraken.presence.routes import bp

__all__ = ["bp"]
