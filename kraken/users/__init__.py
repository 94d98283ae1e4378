"""Users: registration, profiles, preferences, lookups."""
