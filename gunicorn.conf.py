"""Gunicorn settings: one gevent-websocket worker per process, bind and worker count from
the environment through kraken.config (`KRAKEN_BIND_HOST`, `PORT`, `KRAKEN_WORKERS`).

Why one worker: a Socket.IO session lives in the memory of the worker that
opened it. Its long-polling requests and its WebSocket upgrade are separate
HTTP connections, and gunicorn hands each new connection to whichever worker
accepts it first, with no stickiness; with two workers about half of a
client's polls reach a worker that never heard of its session ("Invalid
session", reconnect loops). Scale out with more processes (ports) behind a
sticky proxy (docker/nginx.conf, ip_hash) instead; the Redis message queue
carries events between them. gevent gives each process thousands of
concurrent sockets. KRAKEN_WORKERS > 1 only suits WebSocket-only clients.
"""
import gc
import sys

from kraken.config import ConfigError, load_settings

try:
    _settings = load_settings()
except ConfigError as exc:  # e.g. production without secrets: say what is missing and stop
    print(f"kraken: {exc}", file=sys.stderr)
    sys.exit(2)

bind = f"{_settings.bind_host}:{_settings.port}"
workers = _settings.workers
if workers > 1:
    print(f"kraken: KRAKEN_WORKERS={workers}: Socket.IO long-polling needs one worker per process "
          "(see gunicorn.conf.py)", file=sys.stderr)
worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
worker_connections = 20000
# gunicorn sets TCP_NODELAY on its listening TCP sockets and Linux passes it on to
# every accepted connection, so responses do not wait for Nagle + delayed ACK
# (~44 ms per response otherwise; docs/decisions/0026-one-gevent-worker-per-process.md,
# tests/ops/test_gunicorn.py).
timeout = 30
# SIGTERM: stop accepting, let in-flight requests finish for up to this long, exit 0.
# docker/compose.yaml's stop_grace_period (25 s) is longer, so Docker never SIGKILLs first.
graceful_timeout = 20
keepalive = 5
accesslog = None  # the app logs each request as JSON with its timing
errorlog = "-"
loglevel = "warning"
proc_name = "kraken"


def post_worker_init(worker):
    """On an instance without users, log the one-time setup invite
    (docs/decisions/0023-first-start-and-operations.md); on SIGTERM,
    close this worker's sockets at once so clients reconnect elsewhere without waiting; freeze
    the start-up heap."""
    from kraken.bootstrap import log_setup_invite
    from kraken.realtime.connection import close_local_sockets_when

    with worker.wsgi.app_context():
        log_setup_invite()
    close_local_sockets_when(lambda: not worker.alive)
    # Everything loaded so far lives as long as the worker: keep it out of the collector's full
    # passes, which otherwise stalled the event loop 80-110 ms mid fan-out (the p99's tail).
    gc.collect()
    gc.freeze()
