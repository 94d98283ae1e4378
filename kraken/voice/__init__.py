"""Voice presence: who is in which voice channel (REST, Socket.IO, LiveKit's webhook), in Redis."""
from kraken.voice import hooks
from kraken.voice.routes import bp

hooks.register()

__all__ = ["bp"]
