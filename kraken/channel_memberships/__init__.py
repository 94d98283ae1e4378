"""Private-channel memberships."""
