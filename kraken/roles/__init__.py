"""Roles: default templates, custom roles, assignments (community and instance)."""
