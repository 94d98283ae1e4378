"""Per-user Socket.IO event limits on Redis (flask-limiter never sees socket events,
docs/decisions/0016-socket-event-limits.md).

Named tiers per event (docs/decisions/0024-rate-limits.md). Without Redis the limits are counted per
process.
"""
from __future__ import annotations

import logging

from limits import parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger("kraken.realtime")

# sendMessage: 5/s sustained with bursts of 10 (a fast typist pasting a few lines).
SEND_MESSAGE = "10 per 2 seconds;100 per 1 minute"
# typing indicators are cosmetic; the client sends at most one every 3 s.
TYPING = "2 per 1 second"
# joining rooms: a client (re)subscribing to a few communities after connect.
JOINS = "10 per 1 second"
# everything else (presence heartbeats, reactions, voice events).
DEFAULT = "20 per 1 second;300 per 1 minute"
# connection attempts, counted per user (any token with a valid signature, expired ones too: a
# client reconnecting after sleep) or per IP (no token, a forged one). The web client reconnects
# with a 1-30 s back-off and once per tab on a reload; the reference allows 10 a minute per IP,
# which one office behind NAT would exhaust.
CONNECTS = "10 per 10 seconds;30 per 1 minute"


class SocketLimiter:
    def __init__(self) -> None:
        self._redis = None
        self._memory = FixedWindowRateLimiter(MemoryStorage())
        self.enabled = True

    def init(self, storage_uri: str, options: dict, enabled: bool) -> None:
        """Count in the `limits` storage at storage_uri (redis:// or redis+sentinel://, with options)."""
        self._redis = FixedWindowRateLimiter(storage_from_string(
            storage_uri, socket_connect_timeout=1, socket_timeout=2, max_connections=1024, **options))
        self.enabled = enabled

    def hit(self, tier: str, event: str, user_id: str) -> bool:
        """Count one event; False when over any limit of the tier."""
        if not self.enabled:
            return True
        keys = ("kraken:socket", event, user_id)
        for item in parse_many(tier):
            try:
                ok = self._redis.hit(item, *keys)
            except Exception:
                ok = self._memory.hit(item, *keys)
            if not ok:
                return False
        return True


socket_limiter = SocketLimiter()
