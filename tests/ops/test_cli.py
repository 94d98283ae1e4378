"""The admin CLI as an operator runs it: `flask --app wsgi kraken ...` subprocesses against a database
of this module's own on the running FerretDB (dropped afterwards) and a Redis DB number of its own."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pymongo
import pytest
import redis as redis_lib

from kraken import migrations

from tests.live import ROOT, free_port
from tests.ops.helpers import cli_env, kraken_cli

DB_NAME = f"kraken_ops_cli_{os.getpid()}"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    env = cli_env(tmp_path_factory.mktemp("cli"), f"mongodb://127.0.0.1:27017/{DB_NAME}")
    client = pymongo.MongoClient(env["MONGODB_URL"], serverSelectionTimeoutMS=3000)
    yield env
    client.drop_database(DB_NAME)
    client.close()
    redis_lib.Redis.from_url(env["REDIS_URL"]).flushdb()


@pytest.fixture(scope="module")
def db(env):
    client = pymongo.MongoClient(env["MONGODB_URL"], serverSelectionTimeoutMS=3000)
    yield client[DB_NAME]
    client.close()


def check_lines(output: str) -> dict[str, tuple[str, str]]:
    """`check`'s output as {check: (OK|FAIL, detail)}."""
    return {m.group(2): (m.group(1), m.group(3)) for m in re.finditer(r"^(OK|FAIL)\s+(\w+)\s+(.*)$", output, re.M)}


def seed_user(env: dict[str, str], username: str) -> None:
    """A registered user with an open session, made through the services (there is no CLI for it)."""
    code = (f"from kraken import create_app\nfrom kraken.users import service\n"
            f"from kraken.auth.service import start_session\nfrom kraken.invites.service import create_invite\n"
            f"with create_app().app_context():\n"
            f"    invite = create_invite(created_by=None, max_uses=1)\n"
            f"    user = service.register(username={username!r}, password={PASSWORD!r}, email=None, "
            f"code=invite.code, mode='invite')\n"
            f"    start_session(user)\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)


def test_check_lists_pending_migrations_then_passes_after_migrate(env):
    before = kraken_cli(env, "check")
    assert before.returncode == 1
    lines = check_lines(before.stdout)
    assert set(lines) == {"settings", "secrets", "database", "redis", "livekit", "uploads", "migrations"}
    every = ", ".join(path.stem for path in migrations.discover())  # all of them, in order: none applied yet
    assert every.startswith("0001_indexes, 0002_message_timeline")
    assert lines["migrations"] == ("FAIL", f"pending: {every} (run `flask --app wsgi kraken migrate`)")
    assert all(state == "OK" for name, (state, _) in lines.items() if name != "migrations"), before.stdout
    assert lines["database"][1] == f"database '{DB_NAME}' answers ping"
    assert lines["redis"][1].startswith("answers PING; client tracking on"), lines["redis"]
    assert "1 check(s) failed: migrations" in before.stderr

    assert kraken_cli(env, "migrate").returncode == 0
    after = kraken_cli(env, "check")
    assert after.returncode == 0, after.stdout + after.stderr
    assert check_lines(after.stdout)["migrations"] == ("OK", "none pending")
    assert after.stdout.rstrip().endswith("all checks passed")


def test_check_fails_with_the_reason_against_closed_ports(env, tmp_path):
    mongo_port, redis_port, livekit_port = free_port(), free_port(), free_port()
    started = time.monotonic()
    result = kraken_cli({**env, "MONGODB_URL": f"mongodb://127.0.0.1:{mongo_port}/kraken",
                         "REDIS_URL": f"redis://:hunter2hunter2@127.0.0.1:{redis_port}/0",
                         "LIVEKIT_URL": f"ws://127.0.0.1:{livekit_port}", "LIVEKIT_API_KEY": "kraken",
                         "LIVEKIT_API_SECRET": "s" * 32, "KRAKEN_UPLOAD_DIR": str(_a_file(tmp_path) / "uploads")}, "check")
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    lines = check_lines(result.stdout)
    assert lines["settings"][0] == "OK" and "hunter2" not in result.stdout, "passwords are not printed"
    assert lines["database"][0] == "FAIL" and f"127.0.0.1:{mongo_port}" in lines["database"][1]
    assert "Connection refused" in lines["database"][1]
    assert lines["redis"][0] == "FAIL" and f"127.0.0.1:{redis_port}" in lines["redis"][1]
    assert "Connection refused" in lines["redis"][1]
    assert lines["livekit"] == ("FAIL", f"no answer from LiveKit's API at ws://127.0.0.1:{livekit_port}")
    assert lines["uploads"][0] == "FAIL" and "uploads" in lines["uploads"][1]
    assert lines["migrations"][0] == "FAIL"
    assert "5 check(s) failed: database, redis, livekit, uploads, migrations" in result.stderr


def _a_file(tmp_path):
    path = tmp_path / "not-a-directory"
    path.write_text("")
    return path  # a directory below a regular file cannot be created, not even by root


def test_invalid_configuration_stops_every_command_with_what_is_missing(env):
    bare = {k: v for k, v in env.items() if k not in ("JWT_SECRET", "JWT_REFRESH_SECRET")}
    result = kraken_cli({**bare, "KRAKEN_ENV": "production"}, "check")
    assert result.returncode == 2
    assert "production mode needs real settings; missing: JWT_SECRET, JWT_REFRESH_SECRET" in result.stderr


def test_create_and_list_invites(env):
    limited = kraken_cli(env, "create-invite", "--max-uses", "2", "--valid-hours", "1")
    unlimited = kraken_cli(env, "create-invite")
    assert limited.returncode == unlimited.returncode == 0
    codes = limited.stdout.strip(), unlimited.stdout.strip()
    listing = kraken_cli(env, "list-invites")
    assert listing.returncode == 0
    header, *rows = listing.stdout.splitlines()
    assert header.split() == ["CODE", "SCOPE", "USES", "VALID", "UNTIL", "DISABLED"]
    table = {row.split()[0]: row.split()[1:] for row in rows}
    assert table[codes[0]][:2] == ["INSTANCE", "0/2"] and table[codes[0]][3] == "no"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", table[codes[0]][2])
    assert table[codes[1]] == ["INSTANCE", "0/-", "never", "no"]

    bad = kraken_cli(env, "list-invites", "--community", "not-an-id")
    assert bad.returncode == 2 and "not a community id" in bad.stderr


def test_grant_instance_role_and_disable_user(env, db):
    owner = kraken_cli({**env, "KRAKEN_OWNER_PASSWORD": PASSWORD}, "create-owner", "boss")
    assert owner.returncode == 0, owner.stderr
    seed_user(env, "carol")
    carol = db.users.find_one({"username": "carol"})

    granted = kraken_cli(env, "grant-instance-role", "Carol")
    assert granted.returncode == 0 and "carol now has the instance role 'Instance Admin'" in granted.stdout
    role = db.roles.find_one({"communityId": None, "name": "Instance Admin"})
    assert db.user_roles.count_documents({"userId": carol["_id"], "roleId": role["_id"]}) == 1
    again = kraken_cli(env, "grant-instance-role", "carol")
    assert again.returncode == 1 and "already has this instance role" in again.stderr
    unknown = kraken_cli(env, "grant-instance-role", "carol", "--role", "Janitor")
    assert unknown.returncode == 1 and ("no instance role 'Janitor'; there are: Community Creator, Instance Admin, Invite Manager, User Manager") in unknown.stderr

    assert db.refresh_families.count_documents({"userId": carol["_id"], "revokedAt": None}) == 1
    disabled = kraken_cli(env, "disable-user", "carol")
    assert disabled.returncode == 0 and "user carol disabled" in disabled.stdout
    assert db.users.find_one({"_id": carol["_id"]})["disabled"] is True
    assert db.refresh_families.count_documents({"userId": carol["_id"], "revokedAt": None}) == 0

    protected = kraken_cli(env, "disable-user", "boss")
    assert protected.returncode == 1 and "owner cannot be disabled" in protected.stderr
    missing = kraken_cli(env, "disable-user", "nobody")
    assert missing.returncode == 1 and "User not found" in missing.stderr
