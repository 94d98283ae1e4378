"""Strict JSON: the one parser of everything a client sends (REST bodies, Socket.IO packets).

Python's `json.loads` recurses once per nesting level (a body 10,000 levels deep is a
RecursionError, i.e. a 500), keeps the last of two equal keys (so two parsers can read one
request differently), accepts `NaN`/`Infinity` and lone surrogate escapes. `loads` refuses all
of these with `JsonRefused`. Sizes are checked by the callers before anything is parsed
(kraken.common.validation per route class, kraken.realtime.packets per packet kind).

`JsonRefused` is a ValueError on purpose: engine.io treats a ValueError from its JSON module as
"not JSON" and passes the raw text on.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

# The deepest legitimate body is a LiveKit webhook (event > participant > tracks > codecs, 5 levels)
# or a message (body > spans > span, 3); four times that leaves room and stops a recursion long before
# the interpreter's limit.
MAX_DEPTH = 16

# a JSON string (an unrolled loop: no backtracking per character) or one bracket
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
# a \uD800-\uDFFF escape somewhere: only then are the decoded strings checked for lone surrogates
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

dumps = json.dumps


class JsonRefused(ValueError):
    """The text is not JSON this server reads; the message says why (shown to the client)."""


def _depth_over(text: str, max_depth: int) -> bool:
    if text.count("[") + text.count("{") <= max_depth:  # the usual case: no need to look closer
        return False
    depth = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise JsonRefused(f"Duplicate key {duplicate[:64]!r} in a JSON object")
    return obj


def _no_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused("Number out of range")
    return value


def loads(text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `text`; raises JsonRefused for invalid UTF-8 or JSON, nesting deeper than `max_depth`,
    duplicate keys, non-finite numbers and lone surrogates."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonRefused("Request body is not valid UTF-8") from None
    if _depth_over(text, max_depth):
        raise JsonRefused(f"JSON nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                           parse_float=_finite)
    except JsonRefused:
        raise
    except (ValueError, RecursionError):  # JSONDecodeError, an integer of over 4,300 digits
        raise JsonRefused("Request body is not valid JSON") from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise JsonRefused("JSON strings must be valid Unicode (a lone surrogate escape)") from None
    return value
