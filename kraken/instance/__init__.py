"""Instance-wide public information: feature flags for clients (decisions §8)."""
from kraken.instance.routes import bp

__all__ = ["bp"]
