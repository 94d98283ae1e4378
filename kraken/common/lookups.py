"""Documents by a list of ids, one `_id` equality each.

The default store (FerretDB 1.24 on PostgreSQL, README "Storage") sends only equality filters to SQL:
an `{_id: {$in: [...]}}` reads the whole collection, while each `{_id: x}` is one index look-up. MongoDB
answers both from the `_id` index. Use this for the short id lists of hot paths (a user's roles or
communities); a long list is as many round trips.
"""
from __future__ import annotations

from typing import Iterable


def by_ids(document, ids: Iterable, field: str | None = None) -> list:
    """The documents (or one field of each) with these ids, in the ids' order; missing ones are skipped."""
    out = []
    for oid in dict.fromkeys(ids):  # each id once, in order
        query = document.objects(id=oid)
        found = query.scalar(field).first() if field else query.first()
        if found is not None:
            out.append(found)
    return out
