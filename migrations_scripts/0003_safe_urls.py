"""Clean the stored URLs clients render (kraken.common.urls): users' `avatarUrl`, communities'
`avatar` and `banner`, and the `url` of message attachments.

Before this, a community's avatar and banner took any string (`javascript:...`, `data:text/html,...`)
and a user's `avatarUrl` any `http(s)://` or `/api/file/` prefix. A value the URL type refuses under
this instance's settings (KRAKEN_ALLOW_HTTP_URLS) is removed (an attachment's `url` becomes null);
one it accepts in another spelling (`HTTPS://`, an upper-case file id) is stored as it normalises it.

Each collection is read once, in `_id` order, with a plain `find()` (anything but a top-level equality
reads the whole collection on the default store anyway); the documents to change are then updated
one at a time by `_id` (no bulk write: FerretDB holds a connection per statement of one), and the
caches that may hold the old values are dropped (the per-process copies of users and communities,
the channels' recent messages in Redis). Idempotent: a second run finds nothing to change.
"""
from __future__ import annotations

PROGRESS_EVERY = 5000


def _allow_http() -> bool:
    try:
        from flask import current_app
        return bool(current_app.extensions["kraken.settings"].allow_http_urls)
    except (RuntimeError, KeyError):  # run outside the app: the default, https only
        return False


def _cleaned(value, allow_http: bool):
    """(changed?, the value to store; None removes it)."""
    from kraken.common.urls import safe_url
    if value is None:
        return False, None
    if not isinstance(value, str) or value == "":
        return True, None
    try:
        clean = safe_url(value, allow_http=allow_http)
    except ValueError:
        return True, None
    return clean != value, clean


def _scan(collection, projection: dict, fix, echo) -> list:
    """[(document, update)] for the documents `fix(doc)` wants changed, with progress every PROGRESS_EVERY."""
    todo, seen = [], 0
    for doc in collection.find({}, projection).sort("_id", 1):
        seen += 1
        update = fix(doc)
        if update:
            todo.append((doc, update))
        if seen % PROGRESS_EVERY == 0:
            echo(f"  {collection.name}: {seen} read, {len(todo)} to clean")
    echo(f"  {collection.name}: {seen} read, {len(todo)} to clean")
    return todo


def _fields(fields: tuple[str, ...], allow_http: bool):
    def fix(doc):
        sets, unsets = {}, {}
        for field in fields:
            changed, value = _cleaned(doc.get(field), allow_http)
            if changed:
                if value is None:
                    unsets[field] = ""
                else:
                    sets[field] = value
        update = {}
        if sets:
            update["$set"] = sets
        if unsets:
            update["$unset"] = unsets
        return update
    return fix


def _attachments(allow_http: bool):
    def fix(doc):
        attachments = doc.get("attachments")
        if not isinstance(attachments, list):
            return None
        changed, cleaned = False, []
        for entry in attachments:
            if isinstance(entry, dict) and "url" in entry:
                entry_changed, url = _cleaned(entry.get("url"), allow_http)
                if entry_changed:
                    entry, changed = {**entry, "url": url}, True
            cleaned.append(entry)
        return {"$set": {"attachments": cleaned}} if changed else None
    return fix


def up(db, echo):
    allow_http = _allow_http()
    echo(f"  URLs allowed: https{' and http' if allow_http else ''}, /api/file/<id>")
    plans = [
        (db.users, {"avatarUrl": 1}, _fields(("avatarUrl",), allow_http)),
        (db.communities, {"avatar": 1, "banner": 1}, _fields(("avatar", "banner"), allow_http)),
        (db.messages, {"attachments": 1, "channelId": 1}, _attachments(allow_http)),
    ]
    cleaned = 0
    for collection, projection, fix in plans:
        todo = _scan(collection, projection, fix, echo)
        for done, (doc, update) in enumerate(todo, 1):
            collection.update_one({"_id": doc["_id"]}, update)
            _forget_cached(collection.name, doc)
            if done % 100 == 0 or done == len(todo):
                echo(f"  {collection.name}: {done}/{len(todo)} cleaned")
        cleaned += len(todo)
    echo(f"  {cleaned} documents cleaned")


def _forget_cached(collection: str, doc: dict) -> None:
    try:
        from flask import current_app
        current_app.extensions["kraken.settings"]
    except (RuntimeError, KeyError):
        return  # outside the app there is no cache to speak to
    from kraken import dependents  # and the caches that declare what they depend on:
    from kraken import permcache  # noqa: F401
    from kraken.communities.models import Community
    from kraken.messages import recent  # noqa: F401
    from kraken.messages.models import Message
    from kraken.users.models import User
    if collection == "users":
        dependents.wrote(User, id=doc["_id"])
    elif collection == "communities":
        dependents.wrote(Community, id=doc["_id"])
    elif doc.get("channelId") is not None:
        dependents.wrote(Message, channel_id=doc["channelId"])
