"""Deleting an account (`DELETE /api/users/admin/:id`) deletes the person's rows in every feature through
`user_removing`, keeps their messages (a deleted user's) and the moderation log, and leaves everyone
else's rows alone (docs/decisions/0063-running-an-instance-from-the-client.md, "Delete")."""
from __future__ import annotations

import base64
import os
import time

import mongoengine
import pytest
import requests
from bson import ObjectId
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kraken import domain
from kraken.alias_groups.models import AliasGroupMember
from kraken.appearance.models import AppearanceSettings
from kraken.auth.models import RefreshFamily, RefreshToken
from kraken.direct_messages.models import DirectMessageMembership
from kraken.extensions import redis
from kraken.files.models import File
from kraken.friends.models import Friendship, UserBlock
from kraken.messages import service as messages
from kraken.messages.models import Message
from kraken.messages.schemas import DirectMessageIn
from kraken.migrations import load
from kraken.moderation import service as moderation
from kraken.moderation.models import CommunityBan, CommunityTimeout, ModerationLog
from kraken.notifications.models import ChannelNotificationOverride, Notification, UserNotificationSettings
from kraken.presence import service as presence
from kraken.push.models import PushSubscription
from kraken.read_state import own, service as read_state
from kraken.realtime import background
from kraken.read_state.models import ReadState
from kraken.threads import service as threads
from kraken.threads.models import ThreadSubscriber
from kraken.threads.schemas import ThreadReplyIn
from kraken.users.models import User
from tests.factories import dump, settle
from tests.live import LiveServer
from tests.realtime.conftest import live_env

# Each feature's rows of one user, by the field the feature deletes them by.
PERSONAL = [
    (Notification, "user_id"), (UserNotificationSettings, "id"), (ChannelNotificationOverride, "user_id"),
    (PushSubscription, "user_id"), (Friendship, "user_a_id"), (Friendship, "user_b_id"),
    (UserBlock, "blocker_id"), (UserBlock, "blocked_id"), (AliasGroupMember, "user_id"),
    (AppearanceSettings, "user_id"), (ThreadSubscriber, "user_id"), (ReadState, "id"),
    (RefreshFamily, "user_id"), (DirectMessageMembership, "user_id"), (CommunityBan, "user_id"),
    (CommunityTimeout, "user_id"),
]
# What may still name a deleted user: their messages, the notifications about those, the moderation log,
# a 1:1 conversation's key, and the uses of the invite they registered with.
KEPT = {"messages", "moderation_logs", "notifications", "dm_pairs", "invites"}


def rows_of(user) -> dict[str, int]:
    counts = {f"{d.__name__}.{field}": d.objects(**{field: user.id}).count() for d, field in PERSONAL}
    counts["RefreshToken"] = RefreshToken.objects(user_id=user.id).count()
    counts["File avatar"] = File.objects(resource_type="USER_AVATAR", resource_id=user.id).count()
    return counts


def naming(value, user_id: ObjectId) -> bool:
    """Whether a stored value holds the id anywhere (as an ObjectId, in a string, in a key)."""
    if isinstance(value, ObjectId):
        return value == user_id
    if isinstance(value, str):
        return str(user_id) in value
    if isinstance(value, dict):
        return any(naming(k, user_id) or naming(v, user_id) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(naming(v, user_id) for v in value)
    return False


def p256dh() -> str:
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def personal_rows(factory, user, api, channel, thread_root, dm_group, dm_message) -> None:
    """The user's own rows in every feature that keeps some, made as their client makes them."""
    assert api.put("/api/notifications/settings", json={"playSound": False}).status_code == 200
    assert api.put(f"/api/notifications/channels/{channel.id}/override", json={"level": "all"}).status_code == 200
    subscription = {"endpoint": f"https://push.example.com/{user.username}",
                    "keys": {"p256dh": p256dh(), "auth": base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()}}
    assert api.post("/api/push/subscribe", json=subscription).status_code == 201
    assert api.patch("/api/appearance-settings", json={"themeMode": "light"}).status_code == 200
    assert api.post(f"/api/threads/{thread_root.id}/subscribe").status_code == 204
    assert api.post("/api/read-receipts/mark-read", json={"channelId": str(channel.id),
                                                          "lastReadMessageId": str(thread_root.id)}).status_code == 200
    assert api.post("/api/read-receipts/mark-read", json={"directMessageGroupId": str(dm_group.id),
                                                          "lastReadMessageId": str(dm_message.id)}).status_code == 200
    factory.file(user, resource_type="USER_AVATAR")


def test_deleting_a_user_deletes_their_rows_everywhere_and_keeps_their_messages_and_the_log(factory, login_as):
    root = factory.owner("root")
    alice, bob, carol, dave = (factory.user(name) for name in ("alice", "bob", "carol", "dave"))
    deep, other = factory.community(bob, "Deep"), factory.community(bob, "Other")
    for user in (alice, carol):
        factory.member(user, deep)
        factory.member(user, other)
    general = factory.default_channel(deep)
    apis = {user.username: login_as(user) for user in (alice, bob, carol)}

    kept_message = factory.send(alice, general, "still here")  # also the author's own read mark (Redis)
    root_message = factory.send(bob, general, "thread root")
    mention = [{"type": "USER_MENTION", "userId": str(alice.id)}, {"type": "USER_MENTION", "userId": str(carol.id)},
               {"type": "PLAINTEXT", "text": " look"}]
    factory.send(bob, general, spans=mention)  # a notification and a mention counter for alice and carol
    threads.reply(alice, ThreadReplyIn.model_validate({"parentMessageId": str(root_message.id),
                                                       "spans": [{"type": "PLAINTEXT", "text": "a reply"}]}))
    trio = factory.dm(alice, bob, carol, name="trio")
    dm_message = factory.direct_message(trio, alice, "dm stays")
    pair = factory.dm(alice, bob)
    factory.alias_group(deep, "crew", members=[alice, carol])
    for user in (alice, carol):
        personal_rows(factory, user, apis[user.username], general, root_message, trio, dm_message)
    # friendships on both sides of the pair, a pending request, blocks both ways; and the peers' own
    bob_asks = apis["bob"].post(f"/api/friends/request/{alice.id}").get_json()
    assert apis["alice"].post(f"/api/friends/accept/{bob_asks['id']}").status_code == 201
    alice_asks = apis["alice"].post(f"/api/friends/request/{carol.id}").get_json()
    assert apis["carol"].post(f"/api/friends/accept/{alice_asks['id']}").status_code == 201
    assert apis["alice"].post(f"/api/friends/request/{dave.id}").status_code == 201
    peers_ask = apis["bob"].post(f"/api/friends/request/{carol.id}").get_json()
    assert apis["carol"].post(f"/api/friends/accept/{peers_ask['id']}").status_code == 201
    assert apis["alice"].post(f"/api/users/block/{dave.id}").status_code == 201
    assert apis["bob"].post(f"/api/users/block/{alice.id}").status_code == 201
    assert apis["carol"].post(f"/api/users/block/{dave.id}").status_code == 201
    # moderation: a timeout in one community, a ban from the other; a peer's timeout
    moderation.timeout(bob, deep.id, str(alice.id), 600, "calm down")
    moderation.timeout(bob, deep.id, str(carol.id), 600, "you too")
    moderation.ban(bob, other.id, str(alice.id), "bye", None)
    settle()

    before = rows_of(alice)
    assert all(before.values()), before  # the user has rows in every feature
    logs = ModerationLog.objects(target_user_id=alice.id).count()
    assert logs == 2  # the timeout and the ban

    with background.paused(read_state.FLUSH_TASK):  # her own mark of a last message stays pending (Redis)
        last = messages.send_direct(alice, DirectMessageIn.model_validate(
            {"directMessageGroupId": str(trio.id), "spans": [{"type": "PLAINTEXT", "text": "last words"}]}))
        assert background.wait_soon()
        assert redis.exists(own.OWN + str(alice.id)) and redis.sismember(own.DIRTY, str(alice.id))
        peers = {"bob": rows_of(bob), "carol": rows_of(carol)}
        deleted = factory.api(root).delete(f"/api/users/admin/{alice.id}")
        assert deleted.status_code == 200, deleted.get_json()

    assert not any(rows_of(alice).values()), rows_of(alice)
    assert not redis.exists(own.OWN + str(alice.id)) and not redis.sismember(own.DIRTY, str(alice.id))
    left = {name: [d for d in docs if naming(d, alice.id)] for name, docs in dump().items()}
    assert {name for name, docs in left.items() if docs} <= KEPT, {n: d for n, d in left.items() if d and n not in KEPT}
    assert all(d["userId"] != alice.id for d in left.get("notifications", ()))  # only those about her messages
    # everyone else's rows stay, but for those they shared with her
    assert rows_of(carol) == {**peers["carol"], "Friendship.user_b_id": 1}  # bob's request stays, alice's went
    assert rows_of(bob) == {**peers["bob"], "Friendship.user_a_id": 1, "UserBlock.blocker_id": 0}
    assert UserBlock.objects(blocker_id=carol.id, blocked_id=dave.id).count() == 1
    # the messages stay, as a deleted user's, and so does the moderation log
    assert all(Message.objects(id=m.id).count() for m in (kept_message, last, dm_message))
    assert ModerationLog.objects(target_user_id=alice.id).count() == logs

    # what the peers see: no friend, no DM member, no alias member named alice
    assert [f["id"] for f in apis["bob"].get("/api/friends").get_json()] == [str(carol.id)]
    assert apis["bob"].get(f"/api/friends/status/{alice.id}").get_json()["status"] is None
    group = apis["bob"].get(f"/api/direct-messages/{trio.id}").get_json()
    assert sorted(m["userId"] for m in group["members"]) == sorted([str(bob.id), str(carol.id)])
    assert [m["userId"] for m in apis["bob"].get(f"/api/direct-messages/{pair.id}").get_json()["members"]] == [
        str(bob.id)]
    history = apis["carol"].get(f"/api/direct-messages/{trio.id}/messages").get_json()
    assert str(dm_message.id) in [m["id"] for m in history["messages"]]
    assert AliasGroupMember.objects(user_id=carol.id).count() == 1


@pytest.fixture(scope="module")
def graceful(settings, tmp_path_factory, app):
    """A live server whose last socket's close waits out a grace (as in production) before `userOffline`."""
    server = LiveServer(live_env(settings, tmp_path_factory, KRAKEN_PRESENCE_GRACE="5"),
                        tmp_path_factory.mktemp("logs") / "graceful.log").start()
    yield server
    server.stop()


def test_a_deleted_user_goes_offline_at_once_for_their_communities(graceful, sockets, factory):
    root, alice, bob = factory.owner("root"), factory.user("alice"), factory.user("bob")
    deep = factory.community(bob, "Deep")
    factory.member(alice, deep)
    watcher = sockets(graceful.url, factory.token(bob))
    watcher.call("joinAll", str(deep.id), timeout=10)  # acknowledged once its rooms are joined
    socket = sockets(graceful.url, factory.token(alice))
    assert watcher.wait_for("userOnline", lambda p: p["userId"] == str(alice.id), timeout=10)

    response = requests.delete(f"{graceful.url}/api/users/admin/{alice.id}", timeout=10,
                               headers={"Authorization": f"Bearer {factory.token(root)}"})
    assert response.status_code == 200, response.text
    # announced while she still had her communities, not after the grace (when no one is left to tell)
    assert watcher.wait_for("userOffline", lambda p: p["userId"] == str(alice.id), timeout=2)
    assert str(alice.id) not in presence.online_users()
    deadline = time.monotonic() + 2
    while socket.connected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not socket.connected
    time.sleep(5.5)  # the grace of her closed socket: nothing more is announced
    assert len(watcher.received("userOffline", lambda p: p["userId"] == str(alice.id))) == 1
    assert str(alice.id) not in presence.online_users()


def test_each_deletion_reads_an_index(app):
    """Every collection a deleted user's rows leave is queried by one equality on an indexed field
    (decision 0033): the field leads one of its indexes, or is `_id`."""
    deletes = PERSONAL + [(RefreshToken, "family_id")]
    for document, field in deletes:
        document.ensure_indexes()
        name = document._fields[field].db_field
        leading = {info["key"][0][0] for info in document._get_collection().index_information().values()}
        assert name in leading, (document.__name__, name, leading)
    File.ensure_indexes()
    keys = [[k for k, _ in info["key"]] for info in File._get_collection().index_information().values()]
    assert ["resourceType", "resourceId"] in keys


def test_migration_0016_adds_the_user_indexes_and_a_rerun_changes_nothing(app):
    db = mongoengine.get_db()
    added = (ThreadSubscriber, ChannelNotificationOverride, CommunityBan, CommunityTimeout)
    for document in added:
        document.ensure_indexes()
        document._get_collection().drop_index("userId_1")  # as on an instance from before them
        assert "userId_1" not in document._get_collection().index_information()
    script = load("0016_user_deletion_indexes")
    script.up(db, lambda line: None)
    script.up(db, lambda line: None)
    for document in added:
        assert document._get_collection().index_information()["userId_1"]["key"] == [("userId", 1)]


def test_a_delete_that_failed_half_way_is_finished_by_running_it_again(factory, login_as):
    root, alice, bob = factory.owner("root"), factory.user("alice"), factory.user("bob")
    factory.dm(alice, bob)
    asked = login_as(bob).post(f"/api/friends/request/{alice.id}")
    assert asked.status_code == 201
    as_root = factory.api(root)

    def broken(user):
        raise RuntimeError("a feature's clean-up failed")

    domain.user_removing.connect(broken)
    try:
        assert as_root.delete(f"/api/users/admin/{alice.id}").status_code == 500
    finally:
        domain.user_removing.disconnect(broken)
    assert User.objects(id=alice.id).count() == 1  # still there to delete again
    assert as_root.delete(f"/api/users/admin/{alice.id}").status_code == 200
    assert not any(rows_of(alice).values()) and User.objects(id=alice.id).count() == 0
