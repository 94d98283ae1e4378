"""LiveKit: access tokens, connection info, health, the webhook and room management."""
from kraken.livekit.routes import bp

__all__ = ["bp"]
