"""Cross-site request refusal for the endpoints a browser authenticates with the refresh cookie.

The cookie is SameSite=Strict, which modern browsers honour; this is the server's own check, by the
Fetch Metadata a browser sends (`Sec-Fetch-Site`), then `Origin`, then `Referer`:

- `Sec-Fetch-Site: cross-site` is refused;
- `same-site` (a sibling subdomain) only from an origin listed in CORS_ORIGINS;
- `same-origin` and `none` (the user's own navigation) pass;
- a present `Origin` must be this server's or a configured one; without `Origin`, a `Referer`
  from elsewhere is refused.

A client that sends none of these headers (the CLI, curl, a native app) is not a browser that could
be tricked into the request, and passes.
"""
from __future__ import annotations

from typing import Mapping
from urllib.parse import urlsplit

from kraken.errors import ForbiddenError


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def is_cross_site(headers: Mapping[str, str], own_origin: str, allowed: tuple[str, ...]) -> bool:
    """True when a browser would have sent this request on behalf of another site."""
    own = own_origin.rstrip("/").lower()
    trusted = {own, *(o.rstrip("/").lower() for o in allowed)}
    site = (headers.get("Sec-Fetch-Site") or "").strip().lower()
    origin = (headers.get("Origin") or "").strip()
    referer = (headers.get("Referer") or "").strip()
    if origin:
        claimed = origin.rstrip("/").lower()
    else:
        claimed = _origin_of(referer) if referer else None
    if site == "cross-site":
        return True
    if site in ("same-origin", "none"):  # computed by the browser itself: no proxy can confuse it
        return False
    if site == "same-site":
        return claimed not in trusted
    # no Fetch Metadata: an older browser, or not a browser at all
    if origin == "null":  # a sandboxed frame, a data: URL, a redirect across origins
        return True
    if origin or referer:
        return claimed not in trusted
    return False


def refuse_cross_site(headers: Mapping[str, str], own_origin: str, allowed: tuple[str, ...]) -> None:
    """Raises ForbiddenError (403, CROSS_SITE_REQUEST) for a cross-site browser request."""
    if is_cross_site(headers, own_origin, allowed):
        raise ForbiddenError("Cross-site request refused", code="CROSS_SITE_REQUEST")
