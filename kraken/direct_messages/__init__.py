"""Direct messages: 1:1 conversations and group DMs, their members and their history (kraken-later-endpoints §14)."""
