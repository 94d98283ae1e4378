"""Channels: TEXT and VOICE, public and private."""
from kraken.channels.routes import bp

__all__ = ["bp"]
