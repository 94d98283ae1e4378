"""docker/entrypoint.sh run from the checkout (outside Docker) against the real dev
services: FerretDB on 27017 (own database) and Redis on 6379 (own DB number 3)."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pymongo
import pytest
import redis as redis_lib
import requests

from kraken.config import _ENV_NAMES
from tests.live import ROOT, VENV_BIN, free_port, wait_for
from tests.ops.helpers import DOCKER, dockerfile_env, healthcheck_command
from tests.redis_dbs import claim

ENTRYPOINT = DOCKER / "entrypoint.sh"
DB_NAME = "kraken_entrypoint_test"
MONGODB_URL = f"mongodb://127.0.0.1:27017/{DB_NAME}"
REDIS_URL = f"redis://127.0.0.1:6379/{claim('entrypoint')}"
_APP_VARS = set(_ENV_NAMES) | {"REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB",
                               "CORS_ORIGINS", "KRAKEN_MIGRATE_ON_START"}


@pytest.fixture
def db():
    client = pymongo.MongoClient(MONGODB_URL, serverSelectionTimeoutMS=5000)
    client.drop_database(DB_NAME)
    yield client[DB_NAME]
    client.drop_database(DB_NAME)
    client.close()
    redis_lib.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    # Only what this test sets reaches the app (nothing inherited from the caller's shell);
    # PATH picks the venv's python/flask/gunicorn, the way the image's PATH does.
    base = {k: v for k, v in os.environ.items() if k not in _APP_VARS}
    return base | {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                   "KRAKEN_ENV": "test", "MONGODB_URL": MONGODB_URL, "REDIS_URL": REDIS_URL,
                   "KRAKEN_DATA_DIR": str(tmp_path / "data"), "KRAKEN_MIGRATE_ON_START": "1",
                   "KRAKEN_LOG_LEVEL": "WARNING"}


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    # started from elsewhere on purpose: the script must find the project root itself
    return subprocess.run([str(ENTRYPOINT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


OVERRIDE = ["python", "-c", "import os; print('override ran in', os.getcwd())"]


def test_migrates_then_runs_the_override_command(db, env, tmp_path):
    result = run(OVERRIDE, env, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "0001_indexes: done" in out
    assert f"override ran in {ROOT}" in out
    assert out.index("0001_indexes") < out.index("override ran"), "migrations run first"
    assert "0001_indexes" in db["migrations"].distinct("_id")

    again = run(OVERRIDE, env, tmp_path)  # idempotent: a restarted container migrates nothing
    assert again.returncode == 0, again.stderr
    assert "0001_indexes: already applied" in again.stdout and "0 migration(s) applied" in again.stdout


def test_admin_command_runs_through_the_entrypoint(db, env, tmp_path):
    # what `docker run IMAGE flask --app wsgi kraken create-invite` does
    result = run(["flask", "--app", "wsgi", "kraken", "create-invite", "--max-uses", "2"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    code = result.stdout.strip().splitlines()[-1]
    assert len(code) >= 8
    assert sum(db[name].count_documents({"code": code}) for name in db.list_collection_names()) == 1


def test_no_migrations_when_disabled(db, env, tmp_path):
    result = run(OVERRIDE, env | {"KRAKEN_MIGRATE_ON_START": "0"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "override ran" in result.stdout and "0001_indexes" not in result.stdout
    assert db["migrations"].count_documents({}) == 0


def test_a_failed_migration_stops_the_start(db, env, tmp_path):
    unreachable = f"mongodb://127.0.0.1:{free_port()}/{DB_NAME}"  # nothing listens there
    result = run(OVERRIDE, env | {"MONGODB_URL": unreachable}, tmp_path)
    assert result.returncode != 0
    assert "ServerSelectionTimeoutError" in result.stderr
    assert "override ran" not in result.stdout, "the command must not run on an unmigrated database"


def test_from_a_checkout_without_the_venv_on_path(db, env, tmp_path):
    # `docker/entrypoint.sh` typed in a checkout: it falls back to the project's .venv
    if not (ROOT / ".venv/bin/flask").exists():
        pytest.fail("the project's .venv (make venv) is expected by this test")
    result = run(["sh", "-c", "command -v flask"], env | {"PATH": "/usr/bin:/bin"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0001_indexes: done" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == str(ROOT / ".venv/bin/flask")


def test_default_command_migrates_and_execs_gunicorn(db, env, tmp_path):
    port = free_port()
    # with the gunicorn arguments the image sets, so a flag this gunicorn lacks fails here
    server_env = env | {"PORT": str(port), "KRAKEN_BIND_HOST": "127.0.0.1",
                        "GUNICORN_CMD_ARGS": dockerfile_env()["GUNICORN_CMD_ARGS"]}
    log_path = tmp_path / "server.log"
    healthcheck = ["sh", "-c", healthcheck_command()]  # the Dockerfile's HEALTHCHECK, as Docker runs it
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(ENTRYPOINT)], cwd=tmp_path, env=server_env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def live():
            assert proc.poll() is None, log_path.read_text()[-2000:]
            try:
                return requests.get(f"http://127.0.0.1:{port}/api/health/live", timeout=1).status_code == 200
            except requests.RequestException:
                return False
        assert wait_for(live, timeout=40), log_path.read_text()[-2000:]
        # exec: the process we started *is* gunicorn now, so it gets the container's SIGTERM
        assert b"gunicorn" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert "0001_indexes: done" in log_path.read_text()
        assert subprocess.run(healthcheck, env=server_env, timeout=10).returncode == 0

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log_path.read_text()[-2000:]
        failed = subprocess.run(healthcheck, env=server_env, timeout=10, capture_output=True)
        assert failed.returncode != 0, "the healthcheck must fail once the server is gone"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
