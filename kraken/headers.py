"""Security headers on every response: how browsers may use what this API sends.

- `X-Content-Type-Options: nosniff` everywhere: a JSON body or an uploaded file is never
  run as a script or a page because its bytes look like one.
- `Referrer-Policy: no-referrer`: nothing this server serves links out with its URLs.
- `X-Frame-Options: DENY` and a Content-Security-Policy with `frame-ancestors 'none'` on every
  response: nothing here is meant to be framed. JSON and files get `default-src 'none'` (they load
  nothing); an HTML page sets its own policy (kraken.openapi's docs page allows exactly its CDN
  script), and one that does not gets the strict one too.
- `Cache-Control: no-store` on JSON that does not say otherwise: answers carry tokens and other
  users' data, which no shared or browser cache should keep.
"""
from __future__ import annotations

from flask import Flask, Response

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", API_CSP)
    if response.mimetype == "application/json" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
