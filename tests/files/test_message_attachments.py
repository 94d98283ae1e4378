"""`POST /api/messages/:id/attachments` (KLE §2.3, HF §14): files added after sending, by the author."""
from __future__ import annotations

import time

from kraken.files.models import File
from kraken.messages import service as messages
from kraken.messages.schemas import DirectMessageIn
from kraken.messages.models import Message
from tests.factories import race
from tests.files.conftest import PDF, PNG, upload
from tests.realtime.conftest import live, sockets  # noqa: F401  (fixtures)

TEXT = [{"type": "PLAINTEXT", "text": "files follow"}]


def uploaded(api, channel_id, content=PNG, name="a.png", mime="image/png") -> str:
    response = upload(api, content, name, mime, resource_id=channel_id)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def send(api, channel_id, **body) -> dict:
    response = api.post("/api/messages", json={"channelId": channel_id, "spans": TEXT, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_author_adds_announced_files_one_by_one(alice, club, login_as):
    api = login_as(alice)
    message = send(api, club["general"], spans=[{"type": "PLAINTEXT", "text": " "}], pendingAttachments=2)
    assert message["pendingAttachments"] == 2 and message["attachments"] == []
    first = uploaded(api, club["general"])
    response = api.post(f"/api/messages/{message['id']}/attachments", json={"fileId": first})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [a["id"] for a in body["attachments"]] == [first] and body["pendingAttachments"] == 1
    assert File.objects.get(id=first).message_id == Message.objects.get(id=message["id"]).id
    # the second upload failed: the client counts it down with an empty body; never below 0
    for expected in (0, 0):
        body = api.post(f"/api/messages/{message['id']}/attachments", json={}).get_json()
        assert body["pendingAttachments"] == expected and len(body["attachments"]) == 1
    history = api.get(f"/api/messages/channel/{club['general']}").get_json()["messages"]
    assert [a["id"] for a in history[0]["attachments"]] == [first]  # the recent list follows


def test_only_the_author_may_add_and_nothing_changes_otherwise(alice, bob, club, login_as):
    message = send(login_as(alice), club["general"], pendingAttachments=1)
    own = uploaded(login_as(bob), club["general"])
    for body in ({"fileId": own}, {}):
        response = login_as(bob).post(f"/api/messages/{message['id']}/attachments", json=body)
        assert response.status_code == 403
    stored = Message.objects.get(id=message["id"])
    assert stored.attachments == [] and stored.pending_attachments == 1
    assert File.objects.get(id=own).message_id is None


def test_files_the_message_may_not_take_are_400(alice, club, login_as):
    api = login_as(alice)
    message = send(api, club["general"])
    other = send(api, club["general"])
    foreign = uploaded(api, club["secret"])           # another channel's
    taken = uploaded(api, club["general"])
    assert api.post(f"/api/messages/{other['id']}/attachments", json={"fileId": taken}).status_code == 201
    missing = "0123456789abcdef01234567"
    for file_id, words in ((foreign, "another channel"), (taken, "already attached"), (missing, "unknown file")):
        response = api.post(f"/api/messages/{message['id']}/attachments", json={"fileId": file_id})
        assert response.status_code == 400 and words in str(response.get_json()["message"]), response.get_json()
    assert api.post(f"/api/messages/{message['id']}/attachments", json={"fileId": "nope"}).status_code == 400
    assert Message.objects.get(id=message["id"]).attachments == []


def test_the_ten_attachment_limit_holds_under_concurrent_adds(app, alice, club, factory, login_as):
    api = login_as(alice)
    nine = [uploaded(api, club["general"]) for _ in range(9)]
    message = send(api, club["general"], attachments=nine)
    extra = [uploaded(api, club["general"], PDF, "p.pdf", "application/pdf") for _ in range(3)]
    token, statuses = factory.token(alice), []

    def add(file_id):
        def run():
            statuses.append(app.test_client().post(
                f"/api/messages/{message['id']}/attachments", json={"fileId": file_id},
                headers={"Authorization": f"Bearer {token}"}).status_code)
        return run

    race(app, [add(f) for f in extra])
    assert sorted(statuses) == [201, 400, 400]
    stored = Message.objects.get(id=message["id"])
    assert len(stored.attachments) == 10
    attached = {str(f.id) for f in File.objects(message_id=stored.id)}
    assert attached == {a["id"] for a in stored.attachments}  # the refused files were released
    assert sum(File.objects.get(id=f).message_id is None for f in extra) == 2


def test_without_text_a_message_needs_files_or_announced_ones(alice, club, login_as):
    api = login_as(alice)
    blank = {"channelId": club["general"], "spans": [{"type": "PLAINTEXT", "text": " "}]}
    assert api.post("/api/messages", json=blank).status_code == 400
    assert api.post("/api/messages", json={**blank, "pendingAttachments": 0}).status_code == 400
    assert api.post("/api/messages", json={**blank, "pendingAttachments": 1}).status_code == 201


def test_sending_more_than_ten_with_pending_ones_is_400(alice, club, login_as):
    api = login_as(alice)
    files = [uploaded(api, club["general"]) for _ in range(9)]
    response = api.post("/api/messages", json={"channelId": club["general"], "spans": TEXT, "attachments": files,
                                               "pendingAttachments": 2})
    assert response.status_code == 400


def test_a_direct_message_takes_its_groups_files(alice, bob, login_as):
    api = login_as(alice)
    group = api.post("/api/direct-messages", json={"userIds": [str(bob.id)]}).get_json()["id"]
    message = messages.send_direct(alice, DirectMessageIn(directMessageGroupId=group, spans=TEXT,
                                                          pendingAttachments=1))
    file_id = uploaded(api, group)
    response = api.post(f"/api/messages/{message.id}/attachments", json={"fileId": file_id})
    assert response.status_code == 201 and response.get_json()["directMessageGroupId"] == group
    assert login_as(bob).get(f"/api/file/{file_id}").status_code == 200


def test_adding_broadcasts_update_message(live, sockets, factory, alice, bob, club, login_as):
    watcher = sockets(live.url, factory.token(bob))
    watcher.emit("subscribeAll")
    time.sleep(0.3)  # the subscription reaches the room before the send (as the realtime tests do)
    api = login_as(alice)
    message = send(api, club["general"], pendingAttachments=1)
    file_id = uploaded(api, club["general"])
    assert api.post(f"/api/messages/{message['id']}/attachments", json={"fileId": file_id}).status_code == 201
    update = watcher.wait_for("updateMessage", lambda p: p["message"]["id"] == message["id"])
    assert [a["id"] for a in update["message"]["attachments"]] == [file_id]
    assert update["message"]["pendingAttachments"] == 0
