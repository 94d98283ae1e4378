"""Onboarding: whether this instance still needs its first-run setup (kraken-head-features §12.5)."""
from kraken.onboarding.routes import bp

__all__ = ["bp"]
