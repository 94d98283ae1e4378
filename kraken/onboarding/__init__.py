"""Onboarding: whether this instance still needs its first-run setup (kraken-head-features §12.5)."""
