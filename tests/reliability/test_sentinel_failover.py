"""Redis high availability through Sentinel (issue 23): two app processes find their Redis through three
sentinels; the master is killed while clients on both processes carry a closed-loop message load. After
the sentinels promote the replica, every acknowledged message is stored and delivered to both
processes' clients, none twice, and a session revoked after the failover is refused by both processes."""
import threading
import time

import pytest
import requests

from kraken.messages.models import Message
from tests.factories import Factory
from tests.live import LiveServer, SentinelTopology, wait_for
from tests.realtime.conftest import live_env, token_for  # noqa: F401 - fixture
from tests.realtime.sockets import SocketClient

SENDERS = 6
PER_SENDER = 60  # closed loop: each sender waits for its ack (or 2 s) before the next message


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory):
    topology = SentinelTopology(tmp_path_factory.mktemp("sentinel")).start()
    yield topology
    topology.stop()


@pytest.fixture(scope="module")
def pair(settings, tmp_path_factory, sentinels, app):
    env = live_env(settings, tmp_path_factory, REDIS_SENTINELS=sentinels.sentinels,
                   REDIS_SENTINEL_MASTER=SentinelTopology.MASTER, KRAKEN_RATE_LIMITS="false",
                   KRAKEN_LOG_LEVEL="WARNING")
    env.pop("REDIS_URL")
    logs = tmp_path_factory.mktemp("logs")
    a, b = LiveServer(env, logs / "a.log").start(), LiveServer(env, logs / "b.log").start()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture
def crowd(factory, token_for):
    factory.owner("root")
    admin = factory.user("admin")
    club = factory.community(admin, "Failover")
    general = factory.default_channel(club)
    people = [factory.user(f"p{i}") for i in range(SENDERS + 4)]
    for person in people:
        factory.member(person, club)
    return club, general, [token_for(p) for p in people]


def test_acknowledged_messages_survive_a_sentinel_failover(pair, sentinels, crowd):
    a, b = pair
    club, general, tokens = crowd
    receivers = [SocketClient((a if i % 2 else b).url, tokens[SENDERS + i]).connect() for i in range(4)]
    senders = [SocketClient((a if i % 2 else b).url, tokens[i]).connect() for i in range(SENDERS)]
    for client in receivers + senders:
        client.call("joinAll", str(club.id), timeout=30)  # acknowledged once its rooms are joined

    acked: list[str] = []
    lock = threading.Lock()
    started = threading.Event()

    def send_loop(client: SocketClient, index: int) -> None:
        for n in range(PER_SENDER):
            done = threading.Event()

            def on_ack(ack=None):
                with lock:
                    acked.append(ack)
                done.set()
            client.sio.emit("sendMessage", {"channelId": str(general.id),
                                            "spans": [{"type": "PLAINTEXT", "text": f"s{index}-{n}"}]},
                            callback=on_ack)
            done.wait(2.0)
            if n == 10:
                started.set()
            time.sleep(0.02)

    threads = [threading.Thread(target=send_loop, args=(c, i)) for i, c in enumerate(senders)]
    for t in threads:
        t.start()
    assert started.wait(20)
    old_master = sentinels.kill_master()
    killed_at = time.monotonic()

    # traffic flows again: a probe sent on A reaches a client of B (and the reverse)
    flowing_after = None
    deadline = killed_at + 30
    while time.monotonic() < deadline:
        try:
            probe = senders[1].call("sendMessage", {"channelId": str(general.id),
                                                    "spans": [{"type": "PLAINTEXT", "text": "probe"}]}, timeout=2)
        except Exception:
            continue
        if receivers[0].wait_for("newMessage", lambda p, probe=probe: p["message"]["id"] == probe, timeout=2):
            flowing_after = time.monotonic() - killed_at
            break
    for t in threads:
        t.join()
    sentinels.wait_promoted(old_master)
    sentinels.revive(old_master)  # back as a replica, for the next failover
    assert flowing_after is not None, "messages did not flow between the processes again within 30 s"

    # let outboxes and backfills finish: wait (up to a minute) until every send was answered and every
    # acked message reached every receiver; a loaded machine gets there later, the assertions are the same
    def settled() -> bool:
        with lock:
            ids = {m for m in acked if isinstance(m, str)}
            answers = len(acked)
        refused = sum(len(s.received("exception", lambda e: e.get("cause", {}).get("pattern") == "sendMessage"))
                      for s in senders)
        return answers + refused >= SENDERS * PER_SENDER and all(
            ids <= {p["message"]["id"] for p in r.received("newMessage")} for r in receivers)
    wait_for(settled, timeout=60, interval=0.2)
    stored = {str(i) for i in Message.objects(channel_id=general.id).scalar("id")}
    acked_ids = [m for m in acked if isinstance(m, str)]
    report = {"offered": SENDERS * PER_SENDER, "acked": len(acked_ids),
              "missing_in_db": len([m for m in acked_ids if m not in stored]),
              "seconds_until_flowing": round(flowing_after, 2)}
    for index, receiver in enumerate(receivers):
        got = [p["message"]["id"] for p in receiver.received("newMessage")]
        report[f"receiver{index}_undelivered"] = len(set(acked_ids) - set(got))
        report[f"receiver{index}_duplicates"] = len(got) - len(set(got))
    print("\nsentinel failover:", report)
    for client in receivers + senders:
        client.close()
    assert len(acked_ids) >= SENDERS * PER_SENDER // 2, report
    assert report["missing_in_db"] == 0, report
    assert all(report[f"receiver{i}_undelivered"] == 0 for i in range(4)), report
    assert all(report[f"receiver{i}_duplicates"] == 0 for i in range(4)), report


def test_a_revocation_after_the_failover_is_honoured_by_both_processes(pair, sentinels, factory):
    a, b = pair
    factory.owner("root")
    factory.user("eve")
    old_master = sentinels.kill_master()
    sentinels.wait_promoted(old_master)
    deadline = time.monotonic() + 30  # both processes answer again through the new master
    while time.monotonic() < deadline:
        try:
            if all(requests.get(s.url + "/api/health", timeout=5).status_code == 200 for s in (a, b)):
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)

    def login():
        body = {"username": "eve", "password": Factory.PASSWORD}
        return {"Authorization": "Bearer " + requests.post(a.url + "/api/auth/login", json=body,
                                                          timeout=10).json()["accessToken"]}

    def statuses(headers):
        return [requests.get(s.url + "/api/users/profile", headers=headers, timeout=10).status_code for s in (a, b)]

    here, elsewhere = login(), login()
    assert statuses(elsewhere) == [200, 200]  # both processes hold their copies of the markers
    changed = requests.put(a.url + "/api/users/profile/password", headers=here, timeout=15,
                           json={"currentPassword": Factory.PASSWORD, "newPassword": "another long one"})
    assert changed.status_code == 200, changed.text
    assert [statuses(elsewhere) for _ in range(3)] == [[401, 401]] * 3
    # the revocation's marker is on the promoted master (the processes write where the sentinels point)
    import redis as redis_lib
    promoted = redis_lib.Redis(port=sentinels.master_port(), decode_responses=True)
    assert any(promoted.scan_iter("kraken:auth:revoked-*"))
    assert statuses(here) == [200, 200]
    sentinels.revive(old_master)
