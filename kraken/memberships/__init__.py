"""Community memberships."""
