"""Authentication: argon2id passwords, access JWTs, rotating refresh-token families."""
