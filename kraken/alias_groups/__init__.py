"""Alias (mention) groups of a community (kraken-head-features §6)."""
