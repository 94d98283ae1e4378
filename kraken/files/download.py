"""Serving a stored file over HTTP: one byte range at a time, validators and defensive headers."""
from __future__ import annotations

import logging
import re
import unicodedata
from typing import Mapping
from urllib.parse import quote

from flask import Response
from werkzeug.http import http_date

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


# one byte-range-spec of RFC 9110 §14.1.1: `first-last`, `first-`, or a suffix `-length`
_RANGE_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")


def _unsatisfiable(size: int) -> RangeNotSatisfiableError:
    return RangeNotSatisfiableError(headers={"Content-Range": f"bytes */{size}"})


def requested_range(range_header: str | None, if_range: str | None, etag: str,
                    size: int) -> tuple[int, int] | None:
    """The single byte range [start, stop) to send, or None for the whole file.

    RFC 9110 §14: a Range that is not `bytes=` with valid specs (a last position before the first, a
    unit we do not serve, garbage) is ignored, as is one behind a stale If-Range, and so is a set of
    several ranges (we send no multipart); a set none of whose ranges is satisfiable (a start at or
    past the end, a zero-length suffix `-0`, any range of an empty file but a suffix) raises
    RangeNotSatisfiableError (416 with `Content-Range: bytes */<size>`)."""
    if not range_header or (if_range and if_range.strip() != etag):
        return None
    unit, equals, specs = range_header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int] | None] = []  # None: an unsatisfiable spec
    for spec in specs.split(","):
        spec = spec.strip()
        if not spec:
            continue  # empty list elements are allowed (RFC 9110 §5.6.1)
        match = _RANGE_SPEC.fullmatch(spec)
        if match is None:
            return None
        try:
            first, last, suffix = (int(v) if v else None for v in match.groups())
        except ValueError:  # a number of over 4,300 digits
            return None
        if suffix is not None:
            if suffix == 0:
                ranges.append(None)
            elif size == 0:
                return None  # satisfiable, but an empty file has no byte to send: the whole of it
            else:
                ranges.append((max(size - suffix, 0), size))
        elif last is not None and last < first:
            return None  # an invalid range-spec makes the whole header invalid
        elif first >= size:
            ranges.append(None)
        else:
            ranges.append((first, size if last is None else min(last + 1, size)))
    if not ranges:
        return None
    if all(r is None for r in ranges):
        raise _unsatisfiable(size)
    return ranges[0] if len(ranges) == 1 else None


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


def thumbnail_response(record: File, key: str, storage: Storage, request_headers: Mapping[str, str]) -> Response:
    """A file's JPEG thumbnail (200, or 304 for its ETag). Raises NotFoundError (bytes gone)."""
    etag = f'"t-{key}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff",
               "Last-Modified": http_date(record.uploaded_at)}
    if etag in [t.strip() for t in (request_headers.get("If-None-Match") or "").split(",")]:
        return Response(status=304, headers=headers)
    try:
        size = storage.size(key)
        body = storage.open_range(key, 0, size)
    except FileNotFoundError:
        log.warning("stored thumbnail missing", extra={"file_id": str(record.id)})
        raise NotFoundError("No thumbnail available for this file") from None
    headers.update({"Content-Type": "image/jpeg", "Content-Length": str(size),
                    "Content-Disposition": "inline"})
    return Response(body, status=200, headers=headers, direct_passthrough=True)
