"""Hypothesis strategies for JSON text the one parser must refuse (kraken.common.jsonparse):
deep, duplicated, oversized (wide or padded), non-finite or non-Unicode, and (REST) not an object.

Each strategy draws the text of a whole body (or socket payload), often wrapped in the keys a route
really reads (`spans`, `channelId`, `username` ...), so a refusal proves the parser stopped it and
not a model that happened to find nothing of interest.
"""
from __future__ import annotations

import json

from hypothesis import strategies as st

from kraken.common.jsonparse import MAX_DEPTH

# keys the routes and events read: a duplicate or a deep value under them would matter
KEYS = ["spans", "channelId", "communityId", "messageId", "userId", "roleId", "username", "password",
        "code", "name", "avatar", "avatarUrl", "emoji", "text", "type", "theme", "notifications", "roomId",
        "isMuted", "actions", "attachments", "nonce", "token", "event", "room"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=20))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
                      max_leaves=12)


def _dump(value) -> str:
    return json.dumps(value, separators=(",", ":"))


@st.composite
def deep(draw) -> str:
    """Nesting past MAX_DEPTH (up to thousands of levels), arrays, objects or both, closed or not."""
    depth = draw(st.one_of(st.integers(MAX_DEPTH + 2, MAX_DEPTH + 40), st.integers(200, 12_000)))
    style = draw(st.sampled_from(["array", "object", "mixed"]))
    key = draw(st.sampled_from(KEYS))
    opens, closes = [], []
    for level in range(depth):
        as_array = style == "array" or (style == "mixed" and level % 2)
        opens.append("[" if as_array else f'{{"{key}":')
        closes.append("]" if as_array else "}")
    inner = _dump(draw(SCALARS))
    closed = draw(st.booleans())
    nested = "".join(opens) + inner + ("".join(reversed(closes)) if closed else "")
    return '{"' + draw(st.sampled_from(KEYS)) + '":' + nested + "}" if closed else nested


@st.composite
def duplicated(draw) -> str:
    """An object with a key given twice (or more), at the top or a few levels down."""
    obj = draw(st.dictionaries(st.sampled_from(KEYS), VALUES, min_size=1, max_size=5))
    key = draw(st.sampled_from(sorted(obj)))
    copies = [_dump(draw(VALUES)) for _ in range(draw(st.integers(1, 3)))]
    members = [f'"{k}":{_dump(v)}' for k, v in obj.items()] + [f'"{key}":{c}' for c in copies]
    members = draw(st.permutations(members))
    text = "{" + ",".join(members) + "}"
    for _ in range(draw(st.integers(0, 3))):  # bury it: {"spans":[ ... ]}
        text = '{"' + draw(st.sampled_from(KEYS)) + '":[' + text + "]}"
    return text


@st.composite
def oversized(draw, limit: int) -> str:
    """Valid JSON just over `limit` bytes to twice it: one long string, or wide (many members)."""
    size = draw(st.integers(limit + 1, 2 * limit))
    shape = draw(st.sampled_from(["padded", "wide-array", "wide-object"]))
    if shape == "padded":
        head = '{"spans":[{"type":"PLAINTEXT","text":"'
        return head + "x" * max(size - len(head) - 4, 1) + '"}]}'
    if shape == "wide-array":
        return '{"attachments":[' + ",".join(["0"] * (size // 2 + 1)) + "]}"
    count = size // 12 + 1
    return "{" + ",".join(f'"k{i:08d}":1' for i in range(count)) + "}"


@st.composite
def not_json_values(draw) -> str:
    """JSON-looking text with what RFC 8259 and this server refuse: NaN/Infinity, a number out of
    range, a lone surrogate escape, an integer of thousands of digits, truncation."""
    key = draw(st.sampled_from(KEYS))
    bad = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", '"\\ud800"', '"\\udfff"',
                                '"a\\udc00b"', "9" * 5000, '"unterminated', "[1,2", "{,}", "tru"]))
    return "{" + f'"{key}":{bad}' + "}"


def hostile_bodies(limit: int, *, object_required: bool = True):
    """(class, text) for every class of refused text of a body or payload limited to `limit` bytes."""
    classes = {"deep": deep(), "duplicated": duplicated(), "oversized": oversized(limit),
               "not-json": not_json_values()}
    if object_required:  # REST bodies are objects; a socket payload may be any value
        classes["not-an-object"] = VALUES.filter(lambda v: not isinstance(v, dict)).map(_dump)
    return st.one_of(*(strategy.map(lambda text, name=name: (name, text)) for name, strategy in classes.items()))


INVALID_UTF8 = [b'{"name":"\xff"}', b'{"spans":"\xc3\x28"}', b"\xed\xa0\x80", b'{"a":"\xf0\x28\x8c\x28"}']
