"""Messages: sending (REST and Socket.IO), history, edits, deletes, reactions."""
from kraken.channels.service import CHANNEL_CLEANUPS
from kraken.messages.routes import bp
from kraken.messages.service import delete_for_channels

CHANNEL_CLEANUPS.append(delete_for_channels)

__all__ = ["bp"]
