"""Gunicorn settings for the baselines: the same worker setup as ../gunicorn.conf.py, bound to $PORT."""
import os

bind = f"127.0.0.1:{os.environ['PORT']}"
workers = 1
worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
worker_connections = 20000
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = "warning"
proc_name = "kraken-bench-baseline"
