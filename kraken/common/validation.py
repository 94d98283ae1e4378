"""Request parsing at the edge: bodies and query strings become typed pydantic models.

Nothing from a request reaches a query before it passed one of these, which is
what stops `{"$ne": null}`-style operator injection (decisions §11).
"""
from __future__ import annotations

import json
from typing import Any, TypeVar

import pydantic
from flask import request

from kraken.errors import ValidationError

M = TypeVar("M", bound=pydantic.BaseModel)


class RequestModel(pydantic.BaseModel):
    """Base of request schemas: unknown keys are ignored, never a 500 (decisions §1)."""

    model_config = pydantic.ConfigDict(extra="ignore", str_strip_whitespace=False, frozen=True)


def _messages(exc: pydantic.ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {msg}" if where else msg)
    return out


def validate(model: type[M], data: Any) -> M:
    """Validate `data` against `model`; raises ValidationError with a list of messages."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(_messages(exc)) from None


def json_body() -> dict[str, Any]:
    """The request's JSON object; an empty body counts as `{}` (the web client sends those)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(["Request body is not valid JSON"]) from None
    if not isinstance(data, dict):
        raise ValidationError(["Request body must be a JSON object"])
    return data


def parse_body(model: type[M]) -> M:
    return validate(model, json_body())


def parse_query(model: type[M]) -> M:
    """An empty value counts as absent: the web client sends `continuationToken=` for the first page."""
    return validate(model, {k: v for k, v in request.args.to_dict(flat=True).items() if v != ""})
