"""redis-py (pinned in requirements.txt): the socket of a RESP3 connection, for kraken.tracking.

redis-py's own client-side caching (`Redis(protocol=3, cache_config=CacheConfig())`) cannot serve
Kraken (docs/decisions/0040-redis-client-side-caching.md): kraken.tracking keeps one RESP3 connection in
`CLIENT TRACKING ON BCAST` mode and reads its invalidation pushes without ever blocking a request.
redis-py connects it (HELLO 3, AUTH, SELECT, CLIENT SETNAME); the socket is then read directly, since
redis-py's reader blocks until a whole reply is in. Private relied on, checked by
tests/core/test_adapters.py: `Connection._sock`, the connected socket.
"""
from __future__ import annotations

import socket

import redis


def resp3_connection(url: str, *, name: str, connect_timeout: float = 1.0,
                     timeout: float = 2.0) -> tuple[redis.connection.AbstractConnection, socket.socket]:
    """A connection to the Redis at `url`, set up for RESP3 and named `name`, and its socket
    (keep the connection referenced while the socket is in use)."""
    pool = redis.ConnectionPool.from_url(url, protocol=3, socket_connect_timeout=connect_timeout,
                                         socket_timeout=timeout, client_name=name)
    conn = pool.make_connection()
    conn.connect()  # HELLO 3, AUTH, SELECT, CLIENT SETNAME
    return conn, conn._sock
