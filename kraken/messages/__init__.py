"""Messages: sending (REST and Socket.IO), history, edits, deletes, reactions."""
