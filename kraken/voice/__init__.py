"""Voice presence: who is in which voice channel (REST, Socket.IO, LiveKit's webhook), in Redis."""
