"""Instance administration from the client: users and communities (kraken-head-features §12.1, §12.2)."""
