"""Communities: creation with compensation, update, deletion of everything under one."""
from kraken.communities.routes import bp

__all__ = ["bp"]
