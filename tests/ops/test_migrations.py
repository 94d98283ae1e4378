"""Migrations: `flask kraken migrate` applies numbered scripts once, in order, with progress output,
and every hot query has an index — shown with `explain()` and `index_information()` on a FerretDB
of this module's own (and, on FerretDB's PostgreSQL backend, in PostgreSQL's own plan)."""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass

import mongoengine
import pymongo
import pytest
from bson import ObjectId
from mongoengine.queryset.transform import query as mongo_filter

from kraken import migrations
from kraken.auth.models import RefreshFamily, RefreshToken
from kraken.channels.models import Channel
from kraken.invites.models import Invite
from kraken.memberships.models import Membership
from kraken.messages.models import Message
from kraken.roles.models import UserRole
from kraken.users.models import User
from tests.live import PrivateServices
from tests.ops.helpers import cli_env, kraken_cli

DB_NAME = "kraken_ops_migrations"


@pytest.fixture(scope="module")
def ferretdb(tmp_path_factory):
    """A FerretDB of this module's own (its PostgreSQL is then ours to read)."""
    services = PrivateServices(tmp_path_factory.mktemp("services"), "ferretdb")
    services.start()
    yield services
    services.stop()


@pytest.fixture(scope="module")
def migrated(ferretdb, tmp_path_factory):
    """The first `flask kraken migrate` on an empty database: (environment, completed process)."""
    env = cli_env(tmp_path_factory.mktemp("cli"), f"mongodb://127.0.0.1:{ferretdb.ferretdb_port}/{DB_NAME}")
    first = kraken_cli(env, "migrate")
    assert first.returncode == 0, first.stderr
    client = pymongo.MongoClient(env["MONGODB_URL"], serverSelectionTimeoutMS=3000)
    yield env, first, client[DB_NAME]
    client.close()


def test_migrate_applies_every_script_once_with_progress(migrated):
    env, first, db = migrated
    names = [p.stem for p in migrations.discover()]
    assert names and names == sorted(names) and names[0] == "0001_indexes"
    for index, name in enumerate(names, 1):
        assert f"[{index}/{len(names)}] {name}: applying ..." in first.stdout
        assert f"[{index}/{len(names)}] {name}: done" in first.stdout
    assert re.search(r"^  indexes of messages: .*\bbucket_1_seq_-1\b", first.stdout, re.M)
    assert first.stdout.rstrip().endswith(f"{len(names)} migration(s) applied")
    tracked = {doc["_id"]: doc["appliedAt"] for doc in db.migrations.find()}
    assert sorted(tracked) == names

    second = kraken_cli(env, "migrate")
    assert second.returncode == 0, second.stderr
    assert "applying" not in second.stdout
    assert f"[1/{len(names)}] 0001_indexes: already applied" in second.stdout
    assert second.stdout.rstrip().endswith("0 migration(s) applied")
    assert {doc["_id"]: doc["appliedAt"] for doc in db.migrations.find()} == tracked, "nothing re-applied"


SCRIPT = '''"""Test script {name}: records that it ran. Idempotent."""


def up(db, echo):
    if "{name}" == "9003_flaky" and not db.ops_flags.find_one({{"_id": "fixed"}}):
        raise RuntimeError("9003 is broken")
    db.ops_migration_log.insert_one({{"name": "{name}", "seq": db.ops_migration_log.count_documents({{}})}})
    echo("  ran {name}")
'''


@pytest.fixture
def scripts_dir(app, tmp_path, monkeypatch):
    """Numbered scripts out of order on disk, plus files the runner must ignore."""
    names = ["9010_tenth", "9001_first", "9003_flaky", "9002_second"]
    for name in names:
        (tmp_path / f"{name}.py").write_text(SCRIPT.format(name=name))
    (tmp_path / "9004-not-numbered-right.py").write_text("raise SystemExit('must not load')\n")
    (tmp_path / "helper.py").write_text("raise SystemExit('must not load')\n")
    (tmp_path / "__init__.py").write_text("")
    monkeypatch.setattr(migrations, "SCRIPTS_DIR", tmp_path)
    db = mongoengine.get_db()
    yield db
    # the session database keeps its `migrations` between tests: take ours out again
    db.migrations.delete_many({"_id": {"$in": names}})
    db.drop_collection("ops_migration_log")
    db.drop_collection("ops_flags")


def test_scripts_run_in_number_order_and_a_failure_stops_the_run(scripts_dir):
    db = scripts_dir
    lines: list[str] = []
    with pytest.raises(RuntimeError, match="9003 is broken"):
        migrations.migrate(lines.append)
    log = [doc["name"] for doc in db.ops_migration_log.find().sort("seq", 1)]
    assert log == ["9001_first", "9002_second"], "in number order, and nothing after the failure"
    assert {d["_id"] for d in db.migrations.find({"_id": {"$regex": "^9"}})} == {"9001_first", "9002_second"}
    assert lines[:3] == ["[1/4] 9001_first: applying ...", "  ran 9001_first", "[1/4] 9001_first: done"]
    assert lines[-1] == "[3/4] 9003_flaky: applying ..."

    db.ops_flags.insert_one({"_id": "fixed"})  # the operator fixes the script and runs migrate again
    lines.clear()
    assert migrations.migrate(lines.append) == ["9003_flaky", "9010_tenth"]
    assert lines[0] == "[1/4] 9001_first: already applied"
    assert [doc["name"] for doc in db.ops_migration_log.find().sort("seq", 1)] == [
        "9001_first", "9002_second", "9003_flaky", "9010_tenth"]
    assert migrations.migrate(lines.append) == []


@dataclass(frozen=True)
class HotQuery:
    name: str
    document: type
    filter: dict  # MongoEngine field names, as the services query
    sort: tuple[tuple[str, int], ...] = ()

    @property
    def collection(self) -> str:
        return self.document._get_collection_name()

    def mongo_filter(self) -> dict:
        return mongo_filter(self.document, **self.filter)


OID = ObjectId()
HOT_QUERIES = [
    HotQuery("user by username (login)", User, {"username": "alice"}),
    HotQuery("refresh token by tokenHash (refresh)", RefreshToken, {"token_hash": "f" * 64}),
    HotQuery("membership by (userId, communityId) (every permission check)", Membership,
             {"user_id": OID, "community_id": OID}),
    HotQuery("channels of a community", Channel, {"community_id": OID}),
    HotQuery("channel history, one bucket newest first", Message, {"bucket": f"{OID}:0"}, (("seq", -1),)),
    HotQuery("roles of a user in a community (permission resolver)", UserRole, {"user_id": OID, "community_id": OID}),
    HotQuery("invite by code (registration, redeem)", Invite, {"code": "abcdefgh"}),
    HotQuery("sessions revoked in one hour (revocation markers rebuilt)", RefreshFamily, {"revoked_hour": 491234}),
]


def covering_index(indexes: dict, query: HotQuery) -> str | None:
    """The index MongoDB's planner can use for `query`: its key starts with the equality fields (any
    order), followed by the sort keys in their direction or all reversed."""
    equality = set(query.mongo_filter())
    for name, info in indexes.items():
        key = [(field, int(direction)) for field, direction in info["key"]]
        head, tail = key[:len(equality)], key[len(equality):len(equality) + len(query.sort)]
        if {field for field, _ in head} != equality:
            continue
        wanted = list(query.sort)
        if not wanted or tail == wanted or tail == [(f, -d) for f, d in wanted]:
            return name
    return None


def psql(ferretdb: PrivateServices, sql: str) -> str:
    """Run SQL in the PostgreSQL that FerretDB stores in."""
    done = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(ferretdb.postgres_port), "-U", "postgres",
                           "-d", "ferretdb", "-tAc", sql], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fill_with_others(collection, query: HotQuery, n: int = 3000) -> None:
    """Documents whose indexed fields hold other values, so that a scan would cost what a real table's does."""
    keys = list(query.mongo_filter())
    other = lambda i, value: f"other-{i}" if isinstance(value, str) else ObjectId()  # noqa: E731
    sample = query.mongo_filter()
    collection.insert_many([{k: other(i, sample[k]) for k in keys} | {"n": i} for i in range(n)], ordered=False)


@pytest.mark.parametrize("query", HOT_QUERIES, ids=[q.name for q in HOT_QUERIES])
def test_hot_query_has_an_index(migrated, ferretdb, query):
    _, _, db = migrated
    collection = db[query.collection]
    indexes = collection.index_information()
    index = covering_index(indexes, query)
    assert index, f"{query.name}: no index for {query.mongo_filter()} sort {query.sort} in {sorted(indexes)}"

    cursor = collection.find(query.mongo_filter())
    if query.sort:
        cursor = cursor.sort(list(query.sort))
    explain = cursor.limit(50).explain()
    planner = explain["queryPlanner"]
    if "winningPlan" in planner:  # MongoDB: the planner names the index it scans
        assert index in repr(planner["winningPlan"]) and "IXSCAN" in repr(planner["winningPlan"]), planner
        return
    # FerretDB 1.24 on PostgreSQL sends the equality filter to SQL as `_jsonb->'field' @> value`, which no
    # btree can serve; the GIN index on that expression (services/ferretdb/ginkeeper.go) must: on a
    # table of thousands of rows, PostgreSQL's own plan reads the index, never the whole table.
    assert explain["filterPushdown"] is True
    fill_with_others(collection, query)
    psql(ferretdb, f'ANALYZE "{DB_NAME}"."{table_of(ferretdb, query.collection)}"')
    cursor = collection.find(query.mongo_filter())
    if query.sort:
        cursor = cursor.sort(list(query.sort))
    plan = json.dumps(cursor.limit(50).explain()["queryPlanner"]["Plan"])
    assert "Bitmap Index Scan" in plan and "_kg_" in plan and "Seq Scan" not in plan, plan
    for field in query.mongo_filter():
        assert f"(_jsonb -> '{field}'::text)" in psql(
            ferretdb, f"SELECT indexdef FROM pg_indexes WHERE schemaname = '{DB_NAME}' "
                      f"AND tablename = '{table_of(ferretdb, query.collection)}' AND indexdef LIKE '%USING gin%'")


def table_of(ferretdb: PrivateServices, collection: str) -> str:
    return psql(ferretdb, f"SELECT _jsonb->>'table' FROM \"{DB_NAME}\"._ferretdb_database_metadata "
                          f"WHERE _jsonb->>'_id' = '{collection}'").strip()
