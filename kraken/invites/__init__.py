"""Invites: instance invites for registration, community invites for joining."""
from kraken.invites.routes import bp

__all__ = ["bp"]
