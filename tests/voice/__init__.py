"""Voice presence and LiveKit, against the real LiveKit dev server and live Kraken processes."""
