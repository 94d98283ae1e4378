"""The Socket.IO message queue between processes, made to survive Redis restarts
(docs/decisions/0025-durable-socket-queue.md).

python-socketio's stock Redis manager is at-most-once: a publish is retried twice
and dropped, and its listener backs off up to 60 s after a disconnect (a 1 s
Redis restart lost 535 of 2,191 acknowledged messages). This manager keeps the
same wire format and adds:

- an outbox: a publish that fails is kept, in order, and retried until Redis is back;
- a listener that resubscribes within a fraction of a second, on a connection of its own: publishing
  and listening share no client, so a publisher's reconnect never closes the subscription (nor
  swaps it for one that is not subscribed);
- a backfill after every resubscription, once Redis confirmed it: `newMessage` (and, for
  direct-message rooms `dm:<id>`, `newDirectMessage`) events for messages stored (MongoDB is the
  source of truth) while this process was not subscribed are re-read and delivered to this
  process's sockets;
- de-duplication: a process delivers each message id once, whatever path it came by;
- server-driven rooms: `move_sockets` makes every socket in one room, on every process, enter
  or leave other rooms (Socket.IO's `in(room).socketsJoin(...)`), through the same outbox.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from datetime import datetime, timezone
from typing import Callable, Iterable

import redis as redis_lib
import socketio
from bson import ObjectId

from kraken.adapters.socketio import PubSubManager
from kraken.messages import timeline
from kraken.messages.schemas import message_out
from kraken.realtime.names import NEW_DM as DM_EVENT
from kraken.realtime.rooms import channel_room, dm_room

log = logging.getLogger("kraken.realtime.queue")
RETRY_SECONDS = 0.2
MAX_OUTBOX = 200_000
# Publishes in flight at once per process; a burst beyond waits for a free connection (up to
# PUBLISH_WAIT_SECONDS) instead of failing: with the default pool's "Too many connections" every
# publish of a burst under load went to the outbox and reconnected.
PUBLISH_CONNECTIONS = 100
PUBLISH_WAIT_SECONDS = 5.0
BACKFILL_MARGIN_SECONDS = 5.0
SEEN_CAPACITY = 50_000
MOVE_SOCKETS = "kraken_move_sockets"  # our queue method (python-socketio's own: emit, enter_room, ...)
EMIT_EACH = "kraken_emit_each"  # ours too: one event to many rooms, each with its own payload


class _SeenIds:
    """The message ids this process delivered recently (bounded, insertion-ordered)."""

    def __init__(self, capacity: int = SEEN_CAPACITY):
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, message_id: str) -> bool:
        """Record an id; False when it was already there."""
        with self._lock:
            if message_id in self._ids:
                return False
            self._ids[message_id] = None
            if len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
            return True


class ReliableRedisManager(PubSubManager):
    """python-socketio's pub/sub manager over Redis, through its documented extension points
    (`_publish`, `_listen`); the privates it still needs are in kraken.adapters.socketio."""
    name = "kraken-redis"

    def __init__(self, url: str | Callable[[], str], channel: str, backfill_event: str = "newMessage", **kwargs):
        super().__init__(channel=channel, **kwargs)
        self.redis_url = url  # or a callable giving the current master's URL at each connect (Sentinel)
        self._publisher: redis_lib.Redis | None = None  # publishing only; the listener has its own
        self.outbox: deque = deque()
        self.backfill_event = backfill_event
        self.seen = _SeenIds()
        self.dropped = 0
        self._flusher_running = False
        self._lost_since: float | None = None

    def _url(self) -> str:
        return self.redis_url() if callable(self.redis_url) else self.redis_url

    def _publishing_client(self) -> redis_lib.Redis:
        """The publishers' client, made again after a failure (to find the current master). A client
        dropped here is closed only once the publishes still using it are done (they hold it)."""
        client = self._publisher
        if client is None:
            pool = redis_lib.BlockingConnectionPool.from_url(
                self._url(), max_connections=PUBLISH_CONNECTIONS, timeout=PUBLISH_WAIT_SECONDS,
                socket_connect_timeout=1, socket_keepalive=True, health_check_interval=10)
            client = self._publisher = redis_lib.Redis(connection_pool=pool)
        return client

    # server-driven rooms ------------------------------------------------------------------
    # A user's sockets are all in their user room, wherever they are connected: one message on the
    # queue moves all of them, with no list of socket ids to keep (or to go stale) anywhere.

    def move_sockets(self, selector: str, join: Iterable[str] = (), leave: Iterable[str] = (),
                     namespace: str = "/") -> None:
        """Every socket in room `selector`, on every process, leaves `leave` then enters `join`."""
        message = {"method": MOVE_SOCKETS, "namespace": namespace, "selector": selector,
                   "join": list(join), "leave": list(leave), "host_id": self.host_id}
        self._move_local(message)  # this process's sockets at once
        self._publish(message)     # the other processes', in order with every emit after it

    def _move_local(self, message: dict) -> None:
        namespace = message.get("namespace") or "/"
        members = self.rooms.get(namespace, {}).get(message.get("selector"))
        if not members:
            return
        for sid, eio_sid in list(members.items()):
            for room in message.get("leave") or ():
                self.basic_leave_room(sid, namespace, room)
            for room in message.get("join") or ():
                self.basic_enter_room(sid, namespace, room, eio_sid=eio_sid)

    # one event, many rooms, a payload each (notification fan-out) ----------------------------
    # One queue message per batch instead of one per room: 5,000 emits cost 2.7 s of the sending
    # process's time, one publish each (docs/decisions/0059-notifications.md).
    def emit_each(self, event: str, items: list, namespace: str = "/") -> None:
        """`event` to each room of `items` ([(room, payload)]), on every process, in order with the
        other emits of this process."""
        message = {"method": EMIT_EACH, "namespace": namespace, "event": event,
                   "items": [[room, payload] for room, payload in items], "host_id": self.host_id}
        self._emit_each_local(message)
        self._publish(message)

    def _emit_each_local(self, message: dict) -> None:
        namespace = message.get("namespace") or "/"
        rooms = self.rooms.get(namespace, {})
        for room, payload in message.get("items") or ():
            if rooms.get(room):  # most rooms have no socket on this process
                socketio.Manager.emit(self, message.get("event"), payload, namespace=namespace, room=room)

    def _listen(self):
        """The queue's messages, decoded once here; room moves are applied here, the rest goes on
        to python-socketio's dispatcher (which ignores methods it does not know)."""
        channel = self.channel.encode()
        for item in self._listen_with_retries():
            if item.get("type") != "message" or item.get("channel") != channel:
                continue
            try:
                message = self.json.loads(item["data"])
            except (KeyError, TypeError, ValueError):
                continue
            if isinstance(message, dict) and message.get("method") == EMIT_EACH:
                if message.get("host_id") != self.host_id:
                    try:
                        self._emit_each_local(message)
                    except Exception:
                        log.exception("delivering a batch of events failed")
                continue
            if isinstance(message, dict) and message.get("method") == MOVE_SOCKETS:
                if message.get("host_id") != self.host_id:
                    try:
                        self._move_local(message)
                    except Exception:
                        log.exception("moving sockets between rooms failed")
                continue
            yield message

    # publishing ---------------------------------------------------------------------------

    def _publish(self, data):
        if self.outbox or not self._try_publish(data):
            self._keep(data)

    def _try_publish(self, data) -> bool:
        client = None
        try:
            client = self._publishing_client()
            client.publish(self.channel, self.json.dumps(data))
            return True
        except Exception as exc:
            if self._publisher is client:
                self._publisher = None
            log.warning("publish failed; kept in the outbox", extra={"error_type": type(exc).__name__})
            return False

    def _keep(self, data) -> None:
        if len(self.outbox) >= MAX_OUTBOX:
            self.outbox.popleft()
            self.dropped += 1
        self.outbox.append(data)
        if not self._flusher_running:
            self._flusher_running = True
            self.server.start_background_task(self._flush)

    def _flush(self) -> None:
        try:
            while self.outbox:
                if self._try_publish(self.outbox[0]):
                    self.outbox.popleft()
                else:
                    self.server.sleep(RETRY_SECONDS)
            log.info("outbox flushed")
        finally:
            self._flusher_running = False

    # listening ----------------------------------------------------------------------------

    def _listen_with_retries(self):
        """The channel's pub/sub items, from a subscription this generator owns (its client and its
        connection are local: nothing else can close them or replace them), made again whenever it
        is lost. The backfill of a lost stretch starts once Redis confirms the new subscription: a
        message published after that comes through the queue, one stored before the backfill reads
        the database comes through the backfill."""
        while True:
            client = pubsub = None
            try:
                client = redis_lib.Redis.from_url(self._url(), socket_connect_timeout=1, socket_keepalive=True,
                                                  health_check_interval=10)
                pubsub = client.pubsub()
                pubsub.subscribe(self.channel)
                for item in pubsub.listen():
                    if item.get("type") == "subscribe":
                        if self._lost_since is not None:
                            lost_since, self._lost_since = self._lost_since, None
                            self.server.start_background_task(self._backfill, lost_since)
                        continue
                    yield item
                error = "subscription ended"  # listen() stops once the pubsub is not subscribed
            except Exception as exc:
                error = type(exc).__name__
            finally:
                for closing in (pubsub, client):
                    if closing is not None:
                        closing.close()
            if self._lost_since is None:
                self._lost_since = time.time()
                log.warning("lost the message queue; resubscribing", extra={"error_type": error})
            time.sleep(RETRY_SECONDS)

    # delivery -----------------------------------------------------------------------------

    def deliverable(self, message: dict) -> bool:
        """Each `newMessage` (and `newDirectMessage`) once per process, whatever path it came by (local
        emit, the queue, an outbox retry or a backfill)."""
        if message.get("event") in (self.backfill_event, DM_EVENT):
            data = message.get("data")
            payload = data[0] if isinstance(data, list) and data else data
            message_id = payload.get("message", {}).get("id") if isinstance(payload, dict) else None
            if message_id and not self.seen.add(message_id):
                return False  # already delivered by this process (outbox retry or backfill)
        return True

    def _local_channel_rooms(self) -> list[ObjectId]:
        rooms = self.rooms.get("/", {})
        return [ObjectId(r) for r, members in list(rooms.items())
                if r and len(r) == 24 and ObjectId.is_valid(r) and members]

    def _local_dm_rooms(self) -> list[ObjectId]:
        rooms = self.rooms.get("/", {})
        return [ObjectId(r[3:]) for r, members in list(rooms.items())
                if r and r.startswith("dm:") and ObjectId.is_valid(r[3:]) and members]

    def _backfill(self, lost_since: float) -> None:
        """Deliver `newMessage` (`newDirectMessage` in `dm:<id>` rooms) for messages stored while this
        process could have missed them."""
        rooms = [(room, self.backfill_event, channel_room) for room in self._local_channel_rooms()]
        rooms += [(group, DM_EVENT, dm_room) for group in self._local_dm_rooms()]
        if not rooms:
            return
        since = ObjectId.from_datetime(datetime.fromtimestamp(lost_since - BACKFILL_MARGIN_SECONDS, timezone.utc))
        delivered = 0
        try:
            for conversation, event, room_of in rooms:
                for message in timeline.since(conversation, since):
                    payload = {"message": message_out(message)}
                    if self.seen.add(payload["message"]["id"]):
                        socketio.Manager.emit(self, event, payload, namespace="/", room=room_of(conversation))
                        delivered += 1
        except Exception:
            log.exception("backfill failed")
            return
        log.warning("backfilled messages after a queue outage", extra={"delivered": delivered})
