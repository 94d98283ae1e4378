"""Community moderation: bans, kicks, timeouts, moderator deletes and the moderation log (KLE §13)."""
