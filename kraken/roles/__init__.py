"""Roles: default templates, custom roles, assignments (community and instance)."""
from kraken.roles.routes import bp

__all__ = ["bp"]
