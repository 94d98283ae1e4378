"""Serving a stored file over HTTP: one byte range at a time, validators and defensive headers."""
from __future__ import annotations

import logging
import re
import unicodedata
from typing import Mapping
from urllib.parse import quote

from flask import Response
from werkzeug.http import http_date, parse_range_header

from kraken.errors import KrakenError, NotFoundError
from kraken.files.mimes import INLINE_TYPES
from kraken.files.models import File
from kraken.files.storage import Storage

log = logging.getLogger("kraken.files")
_UNSAFE_ASCII = re.compile(r'[^A-Za-z0-9 !#$&+,.=@^_`{}~()\[\]-]')


class RangeNotSatisfiableError(KrakenError):
    status, code, default_message = 416, "RANGE_NOT_SATISFIABLE", "Requested range not satisfiable"


def content_disposition(mime: str, filename: str) -> str:
    """`inline` for media and PDF, `attachment` for the rest; an ASCII `filename` for old clients and
    the exact name as RFC 5987 `filename*`."""
    kind = "inline" if mime in INLINE_TYPES else "attachment"
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = _UNSAFE_ASCII.sub("_", ascii_name).strip() or "file"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _etag(record: File) -> str:
    return f'"{record.checksum}"'


def requested_range(range_header: str | None, if_range: str | None, etag: str,
                    size: int) -> tuple[int, int] | None:
    """The single byte range [start, stop) to send, or None for the whole file (no Range, a stale
    If-Range, an unparseable or multi-part Range). Raises RangeNotSatisfiableError."""
    if not range_header or (if_range and if_range.strip() != etag):
        return None
    parsed = parse_range_header(range_header)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        return None
    start, stop = parsed.ranges[0]
    if stop is None:
        start, stop = (max(size + start, 0), size) if start < 0 else (start, size)
    stop = min(stop, size)
    if start >= size or start >= stop:
        raise RangeNotSatisfiableError(headers={"Content-Range": f"bytes */{size}"})
    return start, stop


def file_response(record: File, storage: Storage, request_headers: Mapping[str, str]) -> Response:
    """A 200, 206 or 304 response streaming the stored bytes. Raises RangeNotSatisfiableError,
    NotFoundError (the record exists but its bytes are gone)."""
    etag, size = _etag(record), record.size
    headers = {"Accept-Ranges": "bytes", "ETag": etag, "Cache-Control": "private, max-age=3600",
               "X-Content-Type-Options": "nosniff", "Last-Modified": http_date(record.uploaded_at)}
    if etag in [t.strip() for t in (request_headers.get("If-None-Match") or "").split(",")]:
        return Response(status=304, headers=headers)
    bounds = requested_range(request_headers.get("Range"), request_headers.get("If-Range"), etag, size)
    start, stop = bounds or (0, size)
    try:
        body = storage.open_range(record.storage_key, start, stop)
    except FileNotFoundError:
        log.warning("stored bytes missing", extra={"file_id": str(record.id)})
        raise NotFoundError("File not found") from None
    headers.update({"Content-Type": record.mime_type, "Content-Length": str(stop - start),
                    "Content-Disposition": content_disposition(record.mime_type, record.filename)})
    if bounds is not None:
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return Response(body, status=206 if bounds else 200, headers=headers, direct_passthrough=True)
