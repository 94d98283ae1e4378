"""Structured JSON logs: one line per record, request id and timing on every request."""
from __future__ import annotations

import logging
import re
import secrets
import sys
import time
from datetime import datetime, timezone

from flask import Flask, Response, g, request
from pythonjsonlogger.json import JsonFormatter

from kraken.common.time import iso

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("kraken.access")


class _Formatter(JsonFormatter):
    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's name
        return iso(datetime.fromtimestamp(record.created, timezone.utc))


class _ContextFilter(logging.Filter):
    """Adds the current request id (if any) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            try:
                record.request_id = g.get("request_id")
            except RuntimeError:  # outside a request
                record.request_id = None
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Formatter(
        "{asctime}{levelname}{name}{message}", style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("werkzeug", "engineio.server", "socketio.server", "geventwebsocket.handler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def register_request_logging(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(16)

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        if not access_log.isEnabledFor(logging.INFO):
            return response
        started = g.get("started")
        duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
        access_log.info("request", extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "duration_ms": duration_ms, "user_id": g.get("user_id"), "ip": request.remote_addr})
        return response
