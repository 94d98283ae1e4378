"""Words of a message or a query, as the search index keys them (docs/decisions/0049-search.md).

A text is folded (casefold, then Unicode NFKD with the combining marks dropped: "Café" and "cafe" are one
word), cut into words (`\\w+`: letters, digits, underscore, in any script) and each word is stemmed by the
Snowball English stemmer (snowballstemmer, the Snowball project's own Python port: "running", "runs" and
"run" are one term). The same function serves indexing and querying, so a query matches a message
exactly when every term of the query is among the message's terms.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"\w+")
MAX_TERM = 64  # characters of a term kept in a key (a longer "word" is cut; both sides cut it alike)
_stemmer = snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    """Case and diacritics folded: casefold first (it can produce combining marks), then NFKD without them."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A folded word's term (cached: a search re-reads the words of every message it returns)."""
    return _stemmer.stemWord(word)[:MAX_TERM]


def terms(text: str) -> list[str]:
    """The distinct terms of a text, in their first order."""
    return list(dict.fromkeys(term for term in map(stem, _WORD.findall(fold(text))) if term))


def message_text(spans) -> str:
    """The searchable text of a message: its spans' text (mentions carry none)."""
    return " ".join(span.get("text") or "" for span in spans or () if isinstance(span, dict))


def message_terms(spans) -> set[str]:
    return set(terms(message_text(spans)))
