"""Storage outage (reliability issue, item 2): FerretDB stopped for 5 s under load.

No message is acknowledged that is not stored; sends during the outage get an `exception`
(not a hang, not an ack); REST answers 503 with the envelope; /api/health reports the database
down; everything recovers without restarting the app.
"""
import threading
import time

import pytest
import requests
from pymongo import MongoClient

from tests.live import LiveServer, PrivateServices, wait_for
from tests.realtime.conftest import live_env
from tests.realtime.sockets import SocketClient
from tests.redis_dbs import claim


@pytest.fixture(scope="module")
def db_only(tmp_path_factory):
    svc = PrivateServices(tmp_path_factory.mktemp("ferret"), services="ferretdb")
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def server(settings, tmp_path_factory, db_only, app):
    env = live_env(settings, tmp_path_factory, MONGODB_URL=db_only.mongodb_url, KRAKEN_RATE_LIMITS="false",
                   REDIS_URL=settings.redis_url.rsplit("/", 1)[0] + f"/{claim('storage outage')}")
    srv = LiveServer(env, tmp_path_factory.mktemp("logs") / "server.log").start()
    yield srv
    srv.stop()


def _setup(server):
    assert server.flask_cli("create-owner", "root", extra_env={"KRAKEN_OWNER_PASSWORD": "root password"}
                            ).returncode == 0
    token = requests.post(server.url + "/api/auth/login",
                          json={"username": "root", "password": "root password"}).json()["accessToken"]
    auth = {"Authorization": f"Bearer {token}"}
    community = requests.post(server.url + "/api/community", json={"name": "Outage"}, headers=auth).json()
    channels = requests.get(server.url + f"/api/channels/community/{community['id']}", headers=auth).json()
    return token, auth, community["id"], next(c["id"] for c in channels if c["type"] == "TEXT")


def test_no_ack_without_storage_and_recovery_without_restart(server, db_only):
    token, auth, community_id, channel_id = _setup(server)
    client = SocketClient(server.url, token).connect()
    client.emit("joinAll", community_id)
    time.sleep(0.3)

    outcomes: list[tuple[str, str | None, float]] = []  # (kind, ack id or error code, seconds)
    lock = threading.Lock()
    stop = threading.Event()

    def load():
        n = 0
        while not stop.is_set():
            done = threading.Event()
            started = time.monotonic()
            seen_errors = len(client.received("exception"))

            def on_ack(ack=None):
                with lock:
                    outcomes.append(("ack", ack, time.monotonic() - started))
                done.set()

            client.sio.emit("sendMessage", {"channelId": channel_id,
                                            "spans": [{"type": "PLAINTEXT", "text": f"m{n}"}]}, callback=on_ack)
            deadline = started + 15
            while not done.is_set() and time.monotonic() < deadline:
                if len(client.received("exception")) > seen_errors:
                    error = client.received("exception")[seen_errors]
                    with lock:
                        outcomes.append(("exception", error["code"], time.monotonic() - started))
                    break
                time.sleep(0.01)
            else:
                if not done.is_set():
                    with lock:
                        outcomes.append(("hang", None, time.monotonic() - started))
            n += 1
            time.sleep(0.05)

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(1.5)
    db_only.stop("ferretdb")
    try:
        time.sleep(1.0)
        health = requests.get(server.url + "/api/health", timeout=10)
        assert health.status_code == 503 and health.json()["info"]["database"]["status"] == "down"
        rest = requests.get(server.url + "/api/community/mine", headers=auth, timeout=10)
        assert rest.status_code == 503 and rest.json()["code"] == "SERVICE_UNAVAILABLE"
        time.sleep(4.0)
    finally:
        db_only.start("ferretdb")
    recovered = wait_for(lambda: requests.get(server.url + "/api/health", timeout=10).status_code == 200, 30)
    assert recovered
    time.sleep(3.0)
    stop.set()
    worker.join(30)
    client.close()

    acked = [value for kind, value, _ in outcomes if kind == "ack"]
    errors = [value for kind, value, _ in outcomes if kind == "exception"]
    hangs = [o for o in outcomes if o[0] == "hang"]
    stored = {str(i) for i in MongoClient(db_only.mongodb_url)["kraken"]["messages"].distinct("_id")}
    print(f"\nstorage outage: sends={len(outcomes)} acked={len(acked)} exceptions={len(errors)} hangs={len(hangs)} "
          f"slowest={max(t for _, _, t in outcomes):.2f}s")
    assert not hangs
    assert errors and set(errors) <= {"SERVICE_UNAVAILABLE"}
    assert all(a in stored for a in acked), "an acknowledged message is not stored"
    assert outcomes[-1][0] == "ack", "sends did not recover after the database came back"
    assert requests.get(server.url + f"/api/messages/channel/{channel_id}?limit=5", headers=auth).status_code == 200
