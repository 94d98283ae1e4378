"""Presence: online while a user has a live socket on any process; REST lookups."""
