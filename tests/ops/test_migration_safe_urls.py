"""0003_safe_urls on a populated database: stored avatars, banners and attachment URLs that the URL type
refuses are removed, the ones it accepts in another spelling are normalised, the rest is untouched;
a second run changes nothing; the caches that could serve the old values are dropped."""
from __future__ import annotations

import os

import mongoengine
import pytest
from bson import ObjectId

from kraken import create_app, migrations
from kraken.extensions import redis
from kraken.messages import recent
from tests.conftest import make_settings

FILE = "64b7f0c2a1b2c3d4e5f60718"
GOOD = ["https://img.example/a.png", f"/api/file/{FILE}", "https://cdn.example:8443/x?y=1"]
NORMALISED = {"HTTPS://img.example/b.png": "https://img.example/b.png", f"/api/file/{FILE.upper()}": f"/api/file/{FILE}"}
BAD = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x",
       " javascript:alert(1)", "//evil.example/a.png", "file:///etc/passwd", "https://u:p@evil.example/", ""]
HTTP = "http://img.example/c.png"


def load_script():
    return migrations.load("0003_safe_urls")


@pytest.fixture
def old_db(app):
    """A database of its own as the app stored it before 0003: 600 users, 90 communities and 300
    messages, a few dozen of them with URLs the type now refuses, most with good or no URLs."""
    client = mongoengine.get_connection()
    name = f"kraken_migration_urls_{os.getpid()}"
    client.drop_database(name)
    db = client[name]
    values = GOOD + list(NORMALISED) + BAD + [HTTP, None]
    users = [{"_id": ObjectId(), "username": f"u{i}", **({"avatarUrl": values[i % len(values)]}
                                                          if i % 3 == 0 else {})} for i in range(600)]
    communities = [{"_id": ObjectId(), "name": f"c{i}", "avatar": values[i % len(values)],
                    "banner": values[(i * 7) % len(values)]} for i in range(90)]
    channel = ObjectId()
    messages = [{"_id": ObjectId(), "channelId": channel, "spans": [],
                 "attachments": [{"id": FILE, "url": values[(i + k) % len(values)], "filename": "a.png"}
                                 for k in range(i % 3)]} for i in range(300)]
    db.users.insert_many(users)
    db.communities.insert_many(communities)
    db.messages.insert_many(messages)
    yield db, channel
    client.drop_database(name)


def expected(value, allow_http: bool = False):
    if value in NORMALISED:
        return NORMALISED[value]
    if value in BAD or (value == HTTP and not allow_http):
        return None
    return value


def snapshot(db) -> dict:
    return {name: list(db[name].find().sort("_id", 1)) for name in ("users", "communities", "messages")}


def test_refused_urls_are_removed_normalised_ones_rewritten_and_the_rest_kept(old_db):
    db, channel = old_db
    before = snapshot(db)
    list_key = recent._keys(channel)[0]
    redis.rpush(list_key, '{"attachments":[{"url":"javascript:alert(1)"}]}')  # a cached page of history
    lines: list[str] = []
    load_script().up(db, lines.append)

    after = snapshot(db)
    for old, new in zip(before["users"], after["users"], strict=True):
        assert new.get("avatarUrl") == expected(old.get("avatarUrl")), old
        if old.get("avatarUrl") is not None and expected(old["avatarUrl"]) is None:
            assert "avatarUrl" not in new, "a refused value is removed, not set to null"
        assert {k: v for k, v in new.items() if k != "avatarUrl"} == {k: v for k, v in old.items() if k != "avatarUrl"}
    for old, new in zip(before["communities"], after["communities"], strict=True):
        for field in ("avatar", "banner"):
            assert new.get(field) == expected(old.get(field)), (field, old)
    for old, new in zip(before["messages"], after["messages"], strict=True):
        assert [a["url"] for a in new["attachments"]] == [expected(a["url"]) for a in old["attachments"]]
        assert [a["filename"] for a in new["attachments"]] == [a["filename"] for a in old["attachments"]]
    assert not redis.exists(list_key), "the channel's cached history (old URLs) is dropped"

    changed = sum(old != new for name in before for old, new in zip(before[name], after[name]))
    assert lines[-1] == f"  {changed} documents cleaned" and changed > 50
    assert "  users: 600 read, " in "\n".join(lines) and any(line.endswith("cleaned") and "/" in line for line in lines)

    again: list[str] = []
    load_script().up(db, again.append)
    assert snapshot(db) == after, "idempotent"
    assert again[-1] == "  0 documents cleaned"


@pytest.fixture(scope="module")
def http_app(tmp_path_factory, app):
    # module-scoped: create_app reconnects MongoEngine, so it comes before any test's own client
    return create_app(make_settings(data_dir=tmp_path_factory.mktemp("http-migration"), allow_http_urls=True))


def test_an_instance_that_allows_http_keeps_its_http_urls(http_app, old_db):
    db, _ = old_db
    before = snapshot(db)
    with http_app.app_context():
        load_script().up(db, lambda line: None)
    after = snapshot(db)
    for old, new in zip(before["users"], after["users"], strict=True):
        assert new.get("avatarUrl") == expected(old.get("avatarUrl"), allow_http=True)
    assert any(user.get("avatarUrl") == HTTP for user in after["users"])


def test_the_script_is_discovered_after_the_timeline(app):
    names = [path.stem for path in migrations.discover()]
    assert names.index("0003_safe_urls") == names.index("0002_message_timeline") + 1
    assert "Idempotent" in load_script().__doc__
