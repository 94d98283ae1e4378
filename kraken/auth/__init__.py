"""Authentication: argon2id passwords, access JWTs, rotating refresh-token families."""
from kraken.auth.routes import bp

__all__ = ["bp"]
