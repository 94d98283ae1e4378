"""Group commit (kraken/common/groupcommit.py) against the real FerretDB: concurrent inserts share
commands, every caller returns only once its own document is stored, and failures reach exactly
the callers they concern."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from bson import ObjectId
from pymongo import MongoClient, monitoring
from pymongo.errors import DuplicateKeyError, PyMongoError

from kraken.common.groupcommit import GroupCommit
from tests.conftest import MONGODB_URL


class _Inserts(monitoring.CommandListener):
    """Counts the insert commands a client sends and the documents in each."""

    def __init__(self):
        self.sizes: list[int] = []

    def started(self, event):
        if event.command_name == "insert":
            self.sizes.append(len(event.command["documents"]))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def db(app):
    listener = _Inserts()
    client = MongoClient(MONGODB_URL, event_listeners=[listener])
    collection = client.get_default_database()["test_groupcommit"]
    collection.drop()
    collection.create_index("key", unique=True, sparse=True)
    yield collection, listener
    collection.drop()
    client.close()


def test_one_caller_alone_writes_at_once(db):
    collection, listener = db
    commit = GroupCommit(lambda: collection)
    commit.insert({"_id": ObjectId(), "n": 1})
    assert listener.sizes == [1] and collection.count_documents({}) == 1


def test_concurrent_callers_share_commands_and_each_returns_stored(db):
    collection, listener = db
    commit = GroupCommit(lambda: collection)
    ids = [ObjectId() for _ in range(200)]
    start = threading.Barrier(40)

    def send(chunk):
        start.wait()
        for oid in chunk:
            commit.insert({"_id": oid})
            assert collection.find_one({"_id": oid}) is not None  # stored when insert() returns

    with ThreadPoolExecutor(40) as pool:
        list(pool.map(send, [ids[i::40] for i in range(40)]))
    assert sorted(d["_id"] for d in collection.find()) == sorted(ids)
    assert sum(listener.sizes) == 200 and len(listener.sizes) < 200  # some commands carried several


def test_a_duplicate_fails_only_its_own_caller(db):
    collection, _ = db
    collection.insert_one({"_id": ObjectId(), "key": "taken"})
    gate = threading.Event()

    class SlowFirst:
        """The first write waits, so the next callers queue up behind it and go as one batch."""

        def __init__(self):
            self.calls = 0

        def __call__(self):
            self.calls += 1
            if self.calls == 1:
                gate.wait(5)
            return collection

    commit = GroupCommit(SlowFirst())
    documents = [{"_id": ObjectId(), "key": f"k{i}"} for i in range(6)]
    documents[3]["key"] = "taken"
    outcomes: dict[int, BaseException | None] = {}

    def send(i):
        try:
            commit.insert(documents[i])
            outcomes[i] = None
        except PyMongoError as exc:
            outcomes[i] = exc

    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(send, 0)
        _until(lambda: commit._writing)
        rest = [pool.submit(send, i) for i in range(1, 6)]
        _until(lambda: len(commit._queue) == 5)
        gate.set()
        for f in [first, *rest]:
            f.result(10)
    assert isinstance(outcomes.pop(3), DuplicateKeyError)
    assert all(error is None for error in outcomes.values())
    assert collection.count_documents({}) == 6  # the 5 others + the one that was there


def test_a_failed_command_fails_its_whole_batch_and_the_next_writes_again(db):
    collection, _ = db
    down = MongoClient("mongodb://127.0.0.1:9/x", serverSelectionTimeoutMS=300)["x"]["y"]
    target = {"collection": down}
    commit = GroupCommit(lambda: target["collection"])
    with ThreadPoolExecutor(8) as pool:
        errors = list(pool.map(lambda _: _raises(commit), range(8)))
    assert all(isinstance(e, PyMongoError) for e in errors) and not commit._writing and not commit._queue
    target["collection"] = collection
    commit.insert({"_id": ObjectId()})
    assert collection.count_documents({}) == 1


def _until(condition, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _raises(commit):
    try:
        commit.insert({"_id": ObjectId()})
    except PyMongoError as exc:
        return exc
    return None


class _GeventPrimitives:
    """gevent's own lock and event, as monkey-patching gives the app (this test process is not patched)."""
    from gevent.event import Event
    from gevent.lock import Semaphore as Lock


def _slow_first(collection, gate):
    calls = []

    def get():
        calls.append(1)
        if len(calls) == 1:
            gate.wait(5)  # a gevent event: the other greenlets queue up meanwhile
        return collection
    return get


def test_a_waiter_killed_in_the_queue_withdraws_its_document(db):
    import gevent
    from gevent.event import Event
    collection, _ = db
    gate = Event()
    commit = GroupCommit(_slow_first(collection, gate), primitives=_GeventPrimitives)
    docs = [{"_id": ObjectId()} for _ in range(3)]
    greenlets = [gevent.spawn(commit.insert, d) for d in docs]
    gevent.sleep(0.05)  # the first leads and waits at the gate; the others queue
    greenlets[1].kill()
    gate.set()
    gevent.joinall(greenlets, timeout=5)
    assert all(g.dead for g in greenlets) and greenlets[2].successful()
    assert {d["_id"] for d in collection.find()} == {docs[0]["_id"], docs[2]["_id"]}
    assert not commit._writing and not commit._queue


def test_a_waiter_killed_once_handed_the_lead_passes_it_on(db):
    import gevent
    from gevent.event import Event
    collection, _ = db
    gate = Event()
    commit = GroupCommit(_slow_first(collection, gate), primitives=_GeventPrimitives, max_batch=1)
    docs = [{"_id": ObjectId()} for _ in range(3)]
    greenlets = [gevent.spawn(commit.insert, d) for d in docs]
    gevent.sleep(0.05)
    gate.set()  # the first write finishes and hands the lead to the second (max_batch=1) ...
    greenlets[1].kill(block=False)  # ... which is killed before it runs
    gevent.joinall(greenlets, timeout=5)
    assert greenlets[0].successful() and greenlets[2].successful()  # the third was not left waiting
    assert {d["_id"] for d in collection.find()} == {docs[0]["_id"], docs[2]["_id"]}
    assert not commit._writing and not commit._queue
