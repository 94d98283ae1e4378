"""A failed login is one structured log line (reason, user or a hash of the name typed), no traceback:
under gevent, argon2's mismatch exception used to escape the hub's thread pool and print 13 lines."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import requests

from kraken.users import service as users
from tests.live import ROOT


def _lines_since(server, start: int) -> list[str]:
    time.sleep(0.3)  # the access log line is written after the response
    return [line for line in server.output()[start:].splitlines() if line.strip()]


def test_each_failed_login_is_one_json_line_without_a_traceback(gevent_server, factory):
    factory.owner("root")
    alice = factory.user("alice")
    factory.user("dora")
    users.set_disabled(str(factory.user("gone").id), True)
    attempts = [("alice", "wrong password", "wrong password"), ("alice", "correct horse batterY", "wrong password"),
                ("nobody", "correct horse battery", "unknown user"), ("gone", "correct horse battery", "disabled"),
                ("dora", "x" * 256, "wrong password")]
    start = len(gevent_server.output())
    for username, password, _ in attempts:
        response = requests.post(gevent_server.url + "/api/auth/login", json={"username": username, "password": password},
                                 timeout=10)
        assert response.status_code == 401
    ok = requests.post(gevent_server.url + "/api/auth/login", json={"username": "alice", "password": "correct horse battery"},
                       timeout=10)
    assert ok.status_code == 200
    lines = _lines_since(gevent_server, start)
    records = [json.loads(line) for line in lines]  # every line is one JSON record: no traceback lines
    failures = [r for r in records if r.get("message") == "login failed"]
    assert [r["reason"] for r in failures] == [reason for _, _, reason in attempts]
    assert all(r["level"] == "WARNING" and r["logger"] == "kraken.auth" and r.get("request_id") for r in failures)
    assert failures[0]["username"] == "alice" and failures[0]["user_id"] == str(alice.id)
    unknown = failures[2]
    assert unknown["username"] is None and len(unknown["username_sha256"]) == 16 and "nobody" not in json.dumps(unknown)
    assert not any("Traceback" in line or "VerifyMismatchError" in line or "Mismatch" in line for line in lines)
    logins = [r for r in records if r.get("path") == "/api/auth/login"]
    assert [r["status"] for r in logins] == [401] * len(attempts) + [200]  # and one access line each


MISMATCH_UNDER_GEVENT = """
from gevent import monkey; monkey.patch_all()
import sys, flask
from kraken.config import load_settings
app = flask.Flask("probe")
app.extensions["kraken.settings"] = load_settings({"KRAKEN_DATA_DIR": sys.argv[1]}, argon2_memory_kib=1024,
                                                  argon2_time_cost=1)
with app.app_context():
    from kraken.auth.passwords import hash_password, verify_password
    stored = hash_password("right password")
    print(verify_password(stored, "wrong password"), verify_password(None, "x"), verify_password(stored, "nope!"),
          verify_password("not a hash", "x"), verify_password(stored, "right password"))
"""


def test_a_wrong_password_under_gevent_prints_no_traceback(tmp_path):
    """argon2 runs in gevent's thread pool (kraken.auth.passwords._off_the_hub); a mismatch raised
    there is printed by the hub with its traceback unless it is caught in the thread."""
    result = subprocess.run([sys.executable, "-c", MISMATCH_UNDER_GEVENT, str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "False", "False", "True"]
    assert result.stderr == "", result.stderr
