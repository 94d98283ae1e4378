"""Private-channel memberships."""
from kraken.channel_memberships.routes import bp

__all__ = ["bp"]
