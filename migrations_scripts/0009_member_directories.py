"""Give every community its member directory (`member_directories`, kraken.memberships.directory): one
document keyed by the community's id with one line per listed member (username, lower-cased display
name, user id), sorted by username, which member search reads with one `_id` look-up; and give every
membership the name key its line was written from (`nameKey`), so later user writes that change no
name rewrite no directory (docs/decisions/0056-channel-order-and-member-search.md).

A community at a time, through the app's own `directory.rebuild` (compare-and-set on the directory's
version: a member joining, leaving or renamed by a running app meanwhile is not lost; the app's own
writes keep the directory from then on). Idempotent: a second run writes the same text again.
"""
from __future__ import annotations

PROGRESS_EVERY = 100


def up(db, echo):
    from kraken.memberships import directory  # the app's own writer (a migration runs inside the app)

    community_ids = [c["_id"] for c in db.communities.find({}, {"_id": 1})]
    lines = 0
    for index, community_id in enumerate(community_ids, 1):
        text = directory.rebuild(community_id, write_keys=True)
        lines += text.count("\n") + 1 if text else 0
        if index % PROGRESS_EVERY == 0 or index == len(community_ids):
            echo(f"  member directories: {index}/{len(community_ids)} communities, {lines} members listed")
