"""Direct messages over real sockets (kraken-later-endpoints §14): sendDirectMessage (ack = id) →
newDirectMessage to `dm:<id>`; sockets follow membership (created, added, left, subscribeAll); edits,
deletes, reactions and typing reach the group's room; a stranger gets nothing; across two processes."""
import time

from kraken.messages.models import Message


def dm_text(value, group_id, **extra):
    return {"directMessageGroupId": str(group_id), "spans": [{"type": "PLAINTEXT", "text": value}],
            "attachments": [], **extra}


def _group(factory, creator, *others, **extra) -> str:
    response = factory.api(creator).post("/api/direct-messages",
                                         json={"userIds": [str(u.id) for u in others], **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_members_sockets_join_on_creation_and_receive_direct_messages(live, sockets, factory, alice, bob, carol):
    a, b, c = (sockets(live.url, factory.token(u)) for u in (alice, bob, carol))
    for client in (a, b, c):
        client.emit("subscribeAll")
    time.sleep(0.3)
    gid = _group(factory, alice, bob)  # the server moves alice's and bob's sockets into dm:<id>
    time.sleep(0.3)
    ack = a.call("sendDirectMessage", dm_text("psst", gid, nonce="n1"))
    assert isinstance(ack, str) and len(ack) == 24
    stored = Message.objects(id=ack).first()
    assert str(stored.direct_message_group_id) == gid and stored.channel_id is None
    got = b.wait_for("newDirectMessage", lambda p: p["message"]["id"] == ack)
    assert got["message"]["directMessageGroupId"] == gid and got["message"]["channelId"] is None
    assert a.wait_for("newDirectMessage", lambda p: p["message"]["id"] == ack)  # the sender too
    assert a.call("sendDirectMessage", dm_text("psst", gid, nonce="n1")) == ack  # same nonce, same message
    # a stranger: no event, and its own send is refused without storing anything
    c.emit("sendDirectMessage", dm_text("let me in", gid))
    assert c.wait_for("exception")["code"] == "NOT_FOUND"
    assert Message.objects.count() == 1
    assert not c.received("newDirectMessage") and not c.received("newMessage")
    assert not b.received("newMessage")


def test_subscribe_all_joins_existing_groups_and_rooms_follow_membership(live, sockets, factory, alice, bob, carol):
    gid = _group(factory, alice, bob, carol, name="trio")
    a, b, c = (sockets(live.url, factory.token(u)) for u in (alice, bob, carol))
    for client in (a, b, c):
        client.emit("subscribeAll")
    time.sleep(0.3)
    first = a.call("sendDirectMessage", dm_text("one", gid))
    assert b.wait_for("newDirectMessage", lambda p: p["message"]["id"] == first)
    assert c.wait_for("newDirectMessage", lambda p: p["message"]["id"] == first)

    assert factory.api(carol).delete(f"/api/direct-messages/{gid}/members/me").status_code == 204
    time.sleep(0.3)
    second = a.call("sendDirectMessage", dm_text("two", gid))
    assert b.wait_for("newDirectMessage", lambda p: p["message"]["id"] == second)
    time.sleep(0.3)
    assert not c.received("newDirectMessage", lambda p: p["message"]["id"] == second)
    c.emit("typingStart", {"directMessageGroupId": gid})
    assert c.wait_for("exception")["code"] == "NOT_FOUND"

    dave = factory.user("dave")
    d = sockets(live.url, factory.token(dave))
    d.emit("subscribeAll")
    time.sleep(0.2)
    assert factory.api(bob).post(f"/api/direct-messages/{gid}/members",
                                 json={"userIds": [str(dave.id)]}).status_code == 200
    time.sleep(0.3)
    third = a.call("sendDirectMessage", dm_text("three", gid))
    assert d.wait_for("newDirectMessage", lambda p: p["message"]["id"] == third)


def test_edits_deletes_reactions_and_typing_reach_the_group_room(live, sockets, factory, alice, bob, carol):
    gid = _group(factory, alice, bob)
    a, b, c = (sockets(live.url, factory.token(u)) for u in (alice, bob, carol))
    for client in (a, b, c):
        client.emit("subscribeAll")
    time.sleep(0.3)
    mid = a.call("sendDirectMessage", dm_text("hi", gid))
    api = factory.api(alice)
    assert api.patch(f"/api/messages/{mid}", json={"spans": [{"type": "PLAINTEXT", "text": "hey"}]}).status_code == 200
    update = b.wait_for("updateMessage", lambda p: p["message"]["id"] == mid)
    assert update["message"]["spans"][0]["text"] == "hey" and update["message"]["directMessageGroupId"] == gid
    b.emit("addReaction", {"messageId": mid, "emoji": "🦑"})
    added = a.wait_for("reactionAdded", lambda p: p["messageId"] == mid)
    assert added["directMessageGroupId"] == gid and added["channelId"] is None
    assert added["reaction"] == {"emoji": "🦑", "userIds": [str(bob.id)]}
    b.emit("removeReaction", {"messageId": mid, "emoji": "🦑"})
    removed = a.wait_for("reactionRemoved", lambda p: p["messageId"] == mid)
    assert removed["directMessageGroupId"] == gid and removed["reactions"] == []
    a.emit("typingStart", {"directMessageGroupId": gid})
    typing = b.wait_for("userTyping", lambda p: p["userId"] == str(alice.id))
    assert typing == {"userId": str(alice.id), "directMessageGroupId": gid, "isTyping": True}
    assert api.delete(f"/api/messages/{mid}").status_code == 204
    deleted = b.wait_for("deleteMessage", lambda p: p["messageId"] == mid)
    assert deleted == {"messageId": mid, "channelId": None, "directMessageGroupId": gid}
    c.emit("addReaction", {"messageId": str(Message.objects.first().id) if Message.objects.count() else mid,
                           "emoji": "x"})
    assert c.wait_for("exception")["code"] == "NOT_FOUND"
    for event in ("updateMessage", "reactionAdded", "reactionRemoved", "userTyping", "deleteMessage"):
        assert not c.received(event), event


def test_a_direct_message_crosses_processes(live, live_b, sockets, factory, alice, bob):
    a = sockets(live.url, factory.token(alice))     # process A
    b = sockets(live_b.url, factory.token(bob))     # process B
    for client in (a, b):
        client.emit("subscribeAll")
    time.sleep(0.3)
    gid = _group(factory, alice, bob)  # created by a third process (the tests'): rooms move on both
    time.sleep(0.4)
    ack = a.call("sendDirectMessage", dm_text("across", gid))
    assert b.wait_for("newDirectMessage", lambda p: p["message"]["id"] == ack)
    back = b.call("sendDirectMessage", dm_text("back", gid))
    assert a.wait_for("newDirectMessage", lambda p: p["message"]["id"] == back)
