"""Pinned messages: pin, unpin and list a channel's pins (kraken-later-endpoints §12, decision 0055)."""
