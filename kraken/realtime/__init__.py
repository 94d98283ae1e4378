"""Real-time layer: event names, rooms, publishing, the event wrapper and the connection handlers
(set up by kraken.realtime.setup from the app factory)."""
