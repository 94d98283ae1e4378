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
from urllib.parse import quote

import redis
import redis.sentinel


def resp3_connection(url: str, *, name: str, connect_timeout: float = 1.0,
                     timeout: float = 2.0) -> tuple[redis.connection.AbstractConnection, socket.socket]:
    """A connection to the Redis at `url`, set up for RESP3 and named `name`, and its socket
    (keep the connection referenced while the socket is in use)."""
    pool = redis.ConnectionPool.from_url(url, protocol=3, socket_connect_timeout=connect_timeout,
                                         socket_timeout=timeout, client_name=name)
    conn = pool.make_connection()
    conn.connect()  # HELLO 3, AUTH, SELECT, CLIENT SETNAME
    return conn, conn._sock


class _SentinelBlockingPool(redis.sentinel.SentinelConnectionPool, redis.BlockingConnectionPool):
    """redis-py's Sentinel pool (its connections ask the sentinels for the master at each connect) with
    the blocking pool's waiting for a free connection instead of raising past `max_connections`.
    Relies on both classes calling `super().__init__` cooperatively (checked by tests/core/test_adapters.py)."""


class RedisLocation:
    """Where Redis is: one server (`url`), or the master a set of Redis Sentinels names.

    With sentinels, `url` is the logical URL load_settings builds (`redis://[:password@]<master>/<db>`):
    its password and DB apply to the master; its host is the master's service name. Every connection
    made through here finds the current master when it connects, so after a failover a reconnect
    reaches the new one."""

    def __init__(self, url: str, sentinels: tuple[str, ...] = (), master: str = "mymaster",
                 sentinel_password: str | None = None) -> None:
        self.url = url
        self.sentinels = tuple(sentinels)
        self.master = master
        self.sentinel_password = sentinel_password
        parsed = redis.connection.parse_url(url)
        self._password = parsed.get("password")
        self._username = parsed.get("username")
        self._db = int(parsed.get("db", 0) or 0)
        self._sentinel: redis.sentinel.Sentinel | None = None

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)

    def _manager(self) -> redis.sentinel.Sentinel:
        if self._sentinel is None:
            hosts = [(h.rpartition(":")[0] or h, int(h.rpartition(":")[2] or 26379)) for h in self.sentinels]
            self._sentinel = redis.sentinel.Sentinel(
                hosts, socket_connect_timeout=0.5, socket_timeout=0.5,
                sentinel_kwargs={"password": self.sentinel_password, "socket_connect_timeout": 0.5,
                                 "socket_timeout": 0.5})
        return self._sentinel

    def pool(self, *, max_connections: int, timeout: float, **kwargs) -> redis.ConnectionPool:
        """A blocking connection pool to the (current) master."""
        if not self.uses_sentinel:
            return redis.BlockingConnectionPool.from_url(self.url, max_connections=max_connections,
                                                         timeout=timeout, **kwargs)
        return _SentinelBlockingPool(self.master, self._manager(), max_connections=max_connections,
                                     timeout=timeout, db=self._db, password=self._password,
                                     username=self._username, **kwargs)

    def master_url(self) -> str:
        """A plain URL of the current master (one sentinel round trip with sentinels): for connections
        made by libraries that take a URL, resolved again at each of their reconnects."""
        if not self.uses_sentinel:
            return self.url
        host, port = self._manager().discover_master(self.master)
        auth = ""
        if self._password:
            auth = f"{quote(self._username or '', safe='')}:{quote(self._password, safe='')}@"
        return f"redis://{auth}{host}:{port}/{self._db}"

    def limits_storage(self) -> tuple[str, dict]:
        """The `limits` storage URI and extra options (flask-limiter, the socket limiter)."""
        if not self.uses_sentinel:
            return self.url, {}
        auth = f":{quote(self._password, safe='')}@" if self._password else ""
        uri = f"redis+sentinel://{auth}{','.join(self.sentinels)}/{self.master}"
        options: dict = {"db": self._db, "sentinel_kwargs": {"password": self.sentinel_password,
                                                             "socket_connect_timeout": 0.5, "socket_timeout": 0.5}}
        return uri, options
