"""Two app processes sharing Redis: what happens on one is delivered to clients of the other."""
import time

import pytest

from kraken.messages.models import Message
from tests.live import LiveServer
from tests.realtime.conftest import live_env
from tests.realtime.test_messaging_sockets import text


@pytest.fixture(scope="module")
def second(settings, tmp_path_factory, live):
    server = LiveServer(live_env(settings, tmp_path_factory), tmp_path_factory.mktemp("logs") / "b.log").start()
    yield server
    server.stop()


def test_events_cross_processes(live, second, sockets, community, login_as):
    assert live.port != second.port
    admin = sockets(live.url, community.tokens["admin"])   # process A
    pcmember = sockets(second.url, community.tokens["pcmember"])     # process B
    for client in (admin, pcmember):
        client.emit("joinAll", str(community.id))
    time.sleep(0.4)

    message_id = admin.call("sendMessage", text("across", community.general.id))
    assert pcmember.wait_for("newMessage", lambda p: p["message"]["id"] == message_id)

    api = login_as(community.admin)  # REST goes through the test process: a third one
    edited = api.patch(f"/api/messages/{message_id}", json={"spans": [{"type": "PLAINTEXT", "text": "edited"}],
                                                            "editedAt": "1999-01-01T00:00:00.000Z"})
    assert edited.status_code == 200 and edited.get_json()["editedAt"] > "2000"
    update = pcmember.wait_for("updateMessage", lambda p: p["message"]["id"] == message_id)
    assert update["message"]["spans"][0]["text"] == "edited"

    assert api.post("/api/messages/reactions", json={"messageId": message_id, "emoji": "🦑"}).status_code == 201
    added = pcmember.wait_for("reactionAdded")
    assert added["messageId"] == message_id and added["reaction"] == {"emoji": "🦑", "userIds": [str(community.admin.id)]}
    assert api.delete("/api/messages/reactions", json={"messageId": message_id, "emoji": "🦑"}).status_code == 200
    removed = pcmember.wait_for("reactionRemoved")
    assert removed["emoji"] == "🦑" and removed["reactions"] == []

    admin.emit("typingStart", {"channelId": str(community.general.id)})
    assert pcmember.wait_for("userTyping", lambda p: p["userId"] == str(community.admin.id))

    pcmember_id = pcmember.call("sendMessage", text("back", community.general.id))
    assert admin.wait_for("newMessage", lambda p: p["message"]["id"] == pcmember_id)

    assert api.delete(f"/api/messages/{message_id}").status_code == 204
    gone = pcmember.wait_for("deleteMessage")
    assert gone == {"messageId": message_id, "channelId": str(community.general.id), "directMessageGroupId": None}
    assert Message.objects(id=message_id).count() == 0
