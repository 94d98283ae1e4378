"""Community memberships."""
from kraken.memberships.routes import bp

__all__ = ["bp"]
