"""Friends and user blocks (kraken-head-features §5; docs/decisions/0058-friends-and-blocks.md)."""
