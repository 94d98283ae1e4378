"""Appearance settings: each user's theme, accent colour and intensity (kraken-head-features §12.6)."""
