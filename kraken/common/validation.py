"""Request parsing at the edge: bodies and query strings become typed pydantic models.

Every request body goes through one parser (`request_json`, kraken.common.jsonparse) before any
route runs (`parse_request_body`, a before-request hook): bounded by the size of its route class,
at most `MAX_DEPTH` deep, no duplicate keys; what it refuses is a 400 (413 when too large) with the
error envelope, whether or not the route reads a body. Nothing from a request reaches a query before
it passed a model, which is what stops `{"$ne": null}`-style operator injection
(docs/decisions/0005-typed-input-only.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import pydantic
from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from kraken import extensions
from kraken.common import jsonparse
from kraken.errors import KrakenError, PayloadTooLargeError, ValidationError

M = TypeVar("M", bound=pydantic.BaseModel)
F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class BodyClass:
    """What a route accepts as a body: JSON up to `max_bytes`, or (uploads) multipart up to the
    app's MAX_CONTENT_LENGTH, which kraken.files enforces while streaming."""

    name: str
    max_bytes: int | None
    json: bool = True


# Credentials, a token or an invite code: username (64) + password (256) + code + e-mail, even with
# every character sent as a 6-byte \u escape, is under 4 KiB.
AUTH_BODY = BodyClass("auth", 8 * 1024)
# Every other JSON route. The largest body is a message: 4,000 characters of text in up to 200
# spans plus 10 attachment refs, ~40 KiB at worst (the same 64 KiB as a socket event).
JSON_BODY = BodyClass("json", 64 * 1024)
# LiveKit's webhook deliveries (a room or participant event with its tracks), a few KiB each.
WEBHOOK_BODY = BodyClass("webhook", 256 * 1024)
UPLOAD_BODY = BodyClass("upload", None, json=False)


def body_class(kind: BodyClass) -> Callable[[F], F]:
    """Give a route a body class other than JSON_BODY (put it under the route decorator)."""
    def decorator(fn: F) -> F:
        fn.kraken_body_class = kind  # type: ignore[attr-defined]  # copied up by functools.wraps
        return fn
    return decorator


def route_body_class() -> BodyClass:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "kraken_body_class", JSON_BODY)


class RequestModel(pydantic.BaseModel):
    """Base of request schemas: unknown keys are ignored, never a 500 (docs/decisions/0004-strict-json-bodies.md)."""

    model_config = pydantic.ConfigDict(extra="ignore", str_strip_whitespace=False, frozen=True)


def _messages(exc: pydantic.ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {msg}" if where else msg)
    return out


def _context() -> dict[str, Any] | None:
    """What validators may need from the instance's settings (kraken.common.urls: http allowed?)."""
    try:
        settings = extensions.settings()
    except (RuntimeError, KeyError):  # outside an app (unit tests of a model)
        return None
    return {"allow_http_urls": settings.allow_http_urls}


def validate(model: type[M], data: Any) -> M:
    """Validate `data` against `model`; raises ValidationError with a list of messages."""
    try:
        return model.model_validate(data, context=_context())
    except pydantic.ValidationError as exc:
        raise ValidationError(_messages(exc)) from None


def _too_large(kind: BodyClass) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"Request body over {kind.max_bytes} bytes")


def _read_json() -> dict[str, Any]:
    kind = route_body_class()
    if kind.max_bytes is not None:
        if request.content_length is not None and request.content_length > kind.max_bytes:
            raise _too_large(kind)
        # a body without a length (chunked) is read one byte past the limit at most
        request.max_content_length = kind.max_bytes + 1
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large(kind) from None
    if kind.max_bytes is not None and len(raw) > kind.max_bytes:
        raise _too_large(kind)
    if not raw.strip():
        return {}  # an empty body counts as `{}` (the web client sends those)
    try:
        data = jsonparse.loads(raw)
    except jsonparse.JsonRefused as exc:
        raise ValidationError([str(exc)]) from None
    if not isinstance(data, dict):
        raise ValidationError(["Request body must be a JSON object"])
    return data


def request_json() -> dict[str, Any]:
    """The request's JSON object, parsed once per request; raises the same ValidationError (400) or
    PayloadTooLargeError (413) every time it is asked for a body it refused."""
    cached = request.environ.get("kraken.body")  # per request (`g` can outlive one in tests)
    if cached is None:
        try:
            cached = _read_json()
        except KrakenError as exc:
            cached = exc
        request.environ["kraken.body"] = cached
    if isinstance(cached, KrakenError):
        raise cached
    return cached



def parse_request_body() -> None:
    """Before-request hook: refuse a body the parser refuses, before any route (or service) runs."""
    if request.routing_exception is not None or request.method == "OPTIONS":
        return  # a 404/405 stays one; CORS preflights have no body
    if route_body_class().json:
        request_json()


def parse_body(model: type[M]) -> M:
    return validate(model, request_json())


def parse_query(model: type[M]) -> M:
    """An empty value counts as absent: the web client sends `continuationToken=` for the first page.
    A parameter given twice is refused: two readers could take different ones."""
    repeated = sorted(key for key, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise ValidationError([f"{key}: given more than once" for key in repeated])
    return validate(model, {k: v for k, v in request.args.to_dict(flat=True).items() if v != ""})
