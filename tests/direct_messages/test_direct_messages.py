"""Direct messages over REST (kraken-later-endpoints §14): groups, members, history, the 1:1 race,
edits/deletes/reactions in DMs, attachments readable by the group's members only."""
from __future__ import annotations

import threading

from kraken.direct_messages.models import DirectMessageGroup, DirectMessageMembership, DirectPair
from kraken.messages.models import Message
from tests.factories import dump


def _dm(api, *users, **extra):
    return api.post("/api/direct-messages", json={"userIds": [str(u.id) for u in users], **extra})


def _text(value: str) -> dict:
    return {"spans": [{"type": "PLAINTEXT", "text": value}]}


def test_a_one_to_one_conversation_is_created_once(factory, alice, bob):
    a, b = factory.api(alice), factory.api(bob)
    created = _dm(a, bob)
    assert created.status_code == 201
    body = created.get_json()
    assert body["isGroup"] is False and body["lastMessage"] is None and body["name"] is None
    assert sorted(m["userId"] for m in body["members"]) == sorted([str(alice.id), str(bob.id)])
    member = next(m for m in body["members"] if m["userId"] == str(bob.id))
    assert member["user"] == {"id": str(bob.id), "username": "bob", "displayName": bob.display_name,
                              "avatarUrl": None}
    assert _dm(b, alice).get_json()["id"] == body["id"]
    assert _dm(a, bob, alice).get_json()["id"] == body["id"]  # the caller in userIds is ignored
    assert DirectMessageGroup.objects.count() == 1
    listed = a.get("/api/direct-messages").get_json()
    assert [g["id"] for g in listed] == [body["id"]]
    assert b.get(f"/api/direct-messages/{body['id']}").get_json()["id"] == body["id"]


def test_twenty_concurrent_creations_make_one_conversation(factory, alice, bob):
    apis = [factory.api(alice if i % 2 else bob) for i in range(20)]
    start, ids = threading.Barrier(20), []

    def create(i):
        start.wait()
        response = _dm(apis[i], bob if i % 2 else alice)
        ids.append((response.status_code, response.get_json()["id"]))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {code for code, _ in ids} == {201} and len({gid for _, gid in ids}) == 1
    assert DirectMessageGroup.objects.count() == 1 and DirectPair.objects.count() == 1
    assert DirectMessageMembership.objects.count() == 2


def test_groups_members_and_leaving(factory, alice, bob, carol):
    a, b, c = factory.api(alice), factory.api(bob), factory.api(carol)
    group = _dm(a, bob, carol, name="trio").get_json()
    assert group["isGroup"] is True and group["name"] == "trio" and len(group["members"]) == 3
    assert _dm(a, bob, carol).get_json()["id"] != group["id"]  # groups are never de-duplicated
    dave = factory.user("dave")
    added = b.post(f"/api/direct-messages/{group['id']}/members", json={"userIds": [str(dave.id)]})
    assert added.status_code == 200 and len(added.get_json()["members"]) == 4
    assert c.delete(f"/api/direct-messages/{group['id']}/members/me").status_code == 204
    assert c.get(f"/api/direct-messages/{group['id']}").status_code == 404
    assert group["id"] not in [g["id"] for g in c.get("/api/direct-messages").get_json()]
    assert c.delete(f"/api/direct-messages/{group['id']}/members/me").status_code == 404
    one = _dm(a, bob).get_json()
    refused = a.post(f"/api/direct-messages/{one['id']}/members", json={"userIds": [str(carol.id)]})
    assert refused.status_code == 403 and refused.get_json()["code"] == "DM_NOT_GROUP"
    # leaving a 1:1 conversation, then opening it again, brings the member back
    assert b.delete(f"/api/direct-messages/{one['id']}/members/me").status_code == 204
    assert _dm(a, bob).get_json()["id"] == one["id"]
    assert b.get(f"/api/direct-messages/{one['id']}").status_code == 200


def test_bad_input_is_a_400(factory, alice, bob):
    a = factory.api(alice)
    for body in ({}, {"userIds": []}, {"userIds": ["nope"]}, {"userIds": [str(alice.id)]},
                 {"userIds": ["0123456789abcdef01234567"]}, {"userIds": [str(bob.id)], "isGroup": "yes"},
                 {"userIds": [str(bob.id)], "name": 5}):
        response = a.post("/api/direct-messages", json=body)
        assert response.status_code == 400, body
    carol = factory.user("carol")
    both = {"userIds": [str(bob.id), str(carol.id)], "isGroup": False}
    assert a.post("/api/direct-messages", json=both).status_code == 400
    assert DirectMessageGroup.objects.count() == 0


def test_history_edit_delete_and_reactions(factory, alice, bob, carol):
    from kraken.messages import service as messages
    from kraken.messages.schemas import DirectMessageIn
    a, b, c = factory.api(alice), factory.api(bob), factory.api(carol)
    gid = _dm(a, bob).get_json()["id"]
    sent = [messages.send_direct(alice if i % 2 else bob, DirectMessageIn.model_validate(
        {"directMessageGroupId": gid, **_text(f"m{i}")})) for i in range(5)]
    for m in sent:
        assert m.channel_id is None and str(m.direct_message_group_id) == gid
    for url in (f"/api/messages/group/{gid}?limit=2", f"/api/direct-messages/{gid}/messages?limit=2"):
        page = a.get(url).get_json()
        assert [m["id"] for m in page["messages"]] == [str(sent[4].id), str(sent[3].id)]
        assert page["continuationToken"] == str(sent[3].id)
        assert page["messages"][0]["directMessageGroupId"] == gid and page["messages"][0]["channelId"] is None
    rest = a.get(f"/api/messages/group/{gid}?limit=10&continuationToken={sent[3].id}").get_json()
    assert [m["id"] for m in rest["messages"]] == [str(sent[2].id), str(sent[1].id), str(sent[0].id)]
    assert a.get(f"/api/messages/group/{gid}?limit=0").status_code == 400
    oldest = a.get(f"/api/messages/group/{gid}?limit=2&direction=newer").get_json()
    assert [m["id"] for m in oldest["messages"]] == [str(sent[1].id), str(sent[0].id)]
    around = a.get(f"/api/messages/group/{gid}/around/{sent[2].id}?limit=3").get_json()
    assert [m["id"] for m in around["messages"]] == [str(sent[3].id), str(sent[2].id), str(sent[1].id)]
    assert c.get(f"/api/messages/group/{gid}/around/{sent[2].id}").status_code == 404
    assert a.get("/api/direct-messages").get_json()[0]["lastMessage"]["id"] == str(sent[4].id)

    mine = str(sent[1].id)  # alice's
    assert a.patch(f"/api/messages/{mine}", json=_text("edited")).status_code == 200
    assert b.patch(f"/api/messages/{mine}", json=_text("no")).status_code == 403
    assert a.post("/api/messages/reactions", json={"messageId": mine, "emoji": "👍"}).status_code == 201
    assert b.post("/api/messages/reactions", json={"messageId": mine, "emoji": "👍"}).status_code == 201
    assert a.get(f"/api/messages/{mine}").get_json()["reactions"] == [
        {"emoji": "👍", "userIds": [str(alice.id), str(bob.id)]}]
    first = a.get(f"/api/messages/group/{gid}?limit=5").get_json()["messages"]
    assert next(m for m in first if m["id"] == mine)["spans"][0]["text"] == "edited"
    assert b.delete(f"/api/messages/{mine}").status_code == 403
    # a stranger sees nothing and changes nothing
    before = dump()
    for response in (c.get(f"/api/messages/{mine}"), c.patch(f"/api/messages/{mine}", json=_text("x")),
                     c.delete(f"/api/messages/{mine}"),
                     c.post("/api/messages/reactions", json={"messageId": mine, "emoji": "x"}),
                     c.get(f"/api/messages/group/{gid}"), c.get(f"/api/direct-messages/{gid}/messages"),
                     c.get(f"/api/direct-messages/{gid}"),
                     c.post(f"/api/direct-messages/{gid}/members", json={"userIds": [str(carol.id)]}),
                     c.delete(f"/api/direct-messages/{gid}/members/me")):
        assert response.status_code == 404, response.get_json()
    assert dump() == before
    assert a.delete(f"/api/messages/{mine}").status_code == 204
    assert Message.objects(id=mine).count() == 0
    assert mine not in [m["id"] for m in a.get(f"/api/messages/group/{gid}").get_json()["messages"]]


def test_mentions_in_a_direct_message_name_its_members(factory, alice, bob, carol):
    from kraken.errors import ValidationError
    from kraken.messages import service as messages
    from kraken.messages.schemas import DirectMessageIn
    gid = _dm(factory.api(alice), bob).get_json()["id"]

    def send(span):
        return messages.send_direct(alice, DirectMessageIn.model_validate(
            {"directMessageGroupId": gid, "spans": [span]}))

    assert send({"type": "USER_MENTION", "userId": str(bob.id)})
    for span in ({"type": "USER_MENTION", "userId": str(carol.id)},
                 {"type": "CHANNEL_MENTION", "channelId": gid}):
        try:
            send(span)
            raise AssertionError("accepted")
        except ValidationError:
            pass


def test_attachments_are_read_by_the_groups_members_only(factory, alice, bob, carol):
    from kraken.messages import service as messages
    from kraken.messages.schemas import DirectMessageIn
    a, b, c = factory.api(alice), factory.api(bob), factory.api(carol)
    gid = _dm(a, bob).get_json()["id"]
    record = factory.file(alice, resource_id=gid)
    assert c.get(f"/api/file/{record.id}").status_code == 404
    assert b.get(f"/api/file/{record.id}").status_code == 404  # not attached yet: its uploader only
    message = messages.send_direct(alice, DirectMessageIn.model_validate(
        {"directMessageGroupId": gid, **_text("pic"), "attachments": [str(record.id)]}))
    assert message.attachments[0]["id"] == str(record.id)
    assert a.get(f"/api/file/{record.id}").status_code == 200
    assert b.get(f"/api/file/{record.id}").status_code == 200
    assert c.get(f"/api/file/{record.id}").status_code == 404
    # a stranger cannot upload for the group
    upload = c.post("/api/file-upload", data={"resourceType": "MESSAGE_ATTACHMENT", "resourceId": gid,
                                              "file": (__import__("io").BytesIO(b"x"), "a.txt")},
                    content_type="multipart/form-data")
    assert upload.status_code == 404
    ok = b.post("/api/file-upload", data={"resourceType": "MESSAGE_ATTACHMENT", "resourceId": gid,
                                          "file": (__import__("io").BytesIO(b"x"), "a.txt")},
                content_type="multipart/form-data")
    assert ok.status_code == 201, ok.get_json()
