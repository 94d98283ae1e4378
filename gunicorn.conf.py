"""Gunicorn settings: one gevent-websocket worker per process.

Why one worker: a Socket.IO client's polling requests and its upgrade must
reach the same process, and gunicorn balances connections across workers with
no stickiness. Scale out with more processes (ports) behind a sticky proxy;
the Redis message queue carries events between them. gevent gives each
process thousands of concurrent sockets.
"""
import sys

from kraken.config import ConfigError, load_settings

try:
    _settings = load_settings()
except ConfigError as exc:  # e.g. production without secrets: say what is missing and stop
    print(f"kraken: {exc}", file=sys.stderr)
    sys.exit(2)

bind = f"{_settings.bind_host}:{_settings.port}"
workers = 1
worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
worker_connections = 20000
# gunicorn sets TCP_NODELAY on its listening sockets, so responses do not wait
# for Nagle + delayed ACK (~44 ms per response otherwise, decisions §11).
timeout = 30
graceful_timeout = 20  # in-flight requests get this long after SIGTERM
keepalive = 5
accesslog = None  # the app logs each request as JSON with its timing
errorlog = "-"
loglevel = "warning"
proc_name = "kraken"


def post_worker_init(worker):
    """On an instance without users, log the one-time setup invite (decisions §9)."""
    from kraken.bootstrap import log_setup_invite

    with worker.wsgi.app_context():
        log_setup_invite()
