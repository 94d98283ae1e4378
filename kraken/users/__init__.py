"""Users: registration, profiles, preferences, lookups."""
from kraken.users.routes import bp

__all__ = ["bp"]
