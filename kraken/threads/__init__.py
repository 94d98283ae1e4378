"""Threads: replies to a message, kept out of their channel's history (kraken-head-features §1)."""
