"""Group commit: concurrent inserts into one collection share one `insert` command.

A busy channel sends many messages at once, each a round trip to the database and, on FerretDB,
a write transaction of its own (0.7 ms of FerretDB CPU per message at 200 messages/s). Here the
first caller to find no write in flight becomes the leader: it writes every document queued so
far (its own first) with one `insert_many`; callers arriving meanwhile queue theirs and wait. When
the write returns, each waiter gets its own outcome, and the oldest waiter left (if any) leads the
next write. Alone, a caller writes at once, as `insert_one` would; nobody waits for a timer.

`insert()` returns only when its document is stored, or raises what stopped it: a document's own
write error (say, a duplicate key) fails only that caller; an error of the whole command (the
database unreachable) fails everyone in that write. A caller interrupted while it waits (its
greenlet killed) leaves: its document is withdrawn if not yet taken, and a lead it was handed
passes on. `prepare`, if given, sees each batch's documents just before they are written (the
messages number theirs there: one counter update per batch). Works with threads and with gevent (whose monkey-patching makes these locks and events
cooperative; `primitives` lets a test pass gevent's own).
"""
from __future__ import annotations

import threading
from typing import Callable

from pymongo.collection import Collection
from pymongo.errors import AutoReconnect, BulkWriteError, DuplicateKeyError, WriteError


class _Waiter:
    __slots__ = ("document", "done", "leads", "error")

    def __init__(self, document: dict, done):
        self.document = document
        self.done = done
        self.leads = False
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, collection: Callable[[], Collection], max_batch: int = 256, primitives=threading,
                 prepare: Callable[[list[dict]], None] | None = None):
        self._collection = collection
        self._prepare = prepare
        self.max_batch = max_batch
        self._event = primitives.Event
        self._lock = primitives.Lock()
        self._queue: list[_Waiter] = []
        self._writing = False

    def insert(self, document: dict) -> None:
        me = _Waiter(document, self._event())
        with self._lock:
            self._queue.append(me)
            me.leads = not self._writing
            self._writing = True
        if not me.leads:
            try:
                me.done.wait()
            except BaseException:
                self._leave(me)
                raise
        if me.leads:  # first in, or handed the lead by the write before
            self._lead()
        if me.error is not None:
            raise me.error

    def _leave(self, me: _Waiter) -> None:
        """An interrupted waiter: withdraw its document unless a write took it; pass on its lead."""
        with self._lock:
            if me not in self._queue:
                return  # in a write already: stored or not, as that write goes
            self._queue.remove(me)
            if not me.leads:
                return
        self._hand_over()

    def _hand_over(self) -> None:
        """The lead goes to the oldest waiter, or nobody writes until the next insert."""
        with self._lock:
            successor = self._queue[0] if self._queue else None
            self._writing = successor is not None
            if successor is not None:
                successor.leads = True
        if successor is not None:
            successor.done.set()

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[:self.max_batch]
            del self._queue[:self.max_batch]
        written = False
        try:
            self._write(batch)
            written = True
        finally:
            if not written:  # the leader was interrupted (killed, timed out): its waiters are not stored
                for waiter in batch[1:]:
                    waiter.error = waiter.error or AutoReconnect("the shared insert was interrupted")
            self._hand_over()
            for waiter in batch[1:]:  # batch[0] is the leader itself
                waiter.done.set()

    def _write(self, batch: list[_Waiter]) -> None:
        try:
            if self._prepare is not None:
                self._prepare([w.document for w in batch])
            if len(batch) == 1:
                self._collection().insert_one(batch[0].document)
            else:
                self._collection().insert_many([w.document for w in batch], ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                kind = DuplicateKeyError if error.get("code") == 11000 else WriteError
                batch[error["index"]].error = kind(error.get("errmsg", "write error"), error.get("code"), error)
            if exc.details.get("writeConcernErrors"):
                for waiter in batch:
                    waiter.error = waiter.error or exc
        except Exception as exc:  # the whole command failed: nobody's document is known stored
            for waiter in batch:
                waiter.error = exc
