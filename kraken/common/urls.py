"""The one type of every URL a client may render as a link or an image source.

Accepted: an `https://` URL with a host (`http://` too where KRAKEN_ALLOW_HTTP_URLS is on), or the
path of a file uploaded here, `/api/file/<id>`. Everything else is refused: other schemes
(`javascript:`, `data:`, `vbscript:`, `file:`, ...), protocol-relative `//host` and `/\\host`,
credentials in the authority, and any whitespace, control, quote, angle-bracket, backslash or
non-ASCII character (the usual ways to hide a scheme from a filter that a browser then strips).
The scheme is stored lowercased and a file id in lowercase hex, as the app writes them.
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictStr, ValidationInfo

MAX_URL_LENGTH = 2048
FILE_PATH = re.compile(r"/api/file/([0-9a-fA-F]{24})")
# RFC 3986's unreserved and reserved characters and '%', minus the quote
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?|\[[0-9A-Fa-f:.]{{2,45}}\]")
_PORT = re.compile(r"[0-9]{1,5}")


def safe_url(value: str, *, allow_http: bool = False) -> str:
    """`value`, normalised, if a browser may be given it as a link or image source; raises
    ValueError saying why not."""
    if not value or len(value) > MAX_URL_LENGTH:
        raise ValueError(f"must be 1-{MAX_URL_LENGTH} characters")
    if not _URL_CHARACTERS.fullmatch(value):
        raise ValueError("must not contain spaces, control characters, quotes, '<', '>', '\\' "
                         "or non-ASCII characters (percent-encode them)")
    if match := FILE_PATH.fullmatch(value):
        return f"/api/file/{match.group(1).lower()}"
    schemes = "https or http" if allow_http else "https"
    scheme, separator, rest = value.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in (("https", "http") if allow_http else ("https",)):
        raise ValueError(f"must be an {schemes} URL or the path of an uploaded file (/api/file/<id>)")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        raise ValueError("must not carry a user name or password")
    host, port = authority, None
    if authority.startswith("["):
        host, _, after = authority.partition("]")
        host += "]"
        if after:
            if not after.startswith(":"):
                raise ValueError("has no valid host")
            port = after[1:]
    elif ":" in authority:
        host, port = authority.rsplit(":", 1)
    if not _HOST.fullmatch(host) or (port is not None and not (_PORT.fullmatch(port) and 0 < int(port) < 65536)):
        raise ValueError("has no valid host")
    return f"{scheme}://{rest}"


def _validate(value: str, info: ValidationInfo) -> str:
    return safe_url(value, allow_http=bool((info.context or {}).get("allow_http_urls")))


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


# A URL a client renders; kraken.common.validation.validate supplies the instance's http setting.
SafeUrl = Annotated[StrictStr, Field(max_length=MAX_URL_LENGTH), AfterValidator(_validate)]
# The same, optional: null or "" clears the field.
OptionalUrl = Annotated[SafeUrl | None, BeforeValidator(_blank_is_none)]
