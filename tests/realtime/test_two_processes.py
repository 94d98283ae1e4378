"""Two app processes sharing Redis: what happens on one is delivered to clients of the other."""
import time

import pytest

from kraken.messages.models import Message
from tests.live import LiveServer
from tests.realtime.conftest import live_env
from tests.realtime.test_messaging_sockets import text, world  # noqa: F401 - the shared world fixture


@pytest.fixture(scope="module")
def second(settings, tmp_path_factory, live):
    server = LiveServer(live_env(settings, tmp_path_factory), tmp_path_factory.mktemp("logs") / "b.log").start()
    yield server
    server.stop()


def test_events_cross_processes(live, second, sockets, world, login_as):
    assert live.port != second.port
    alice = sockets(live.url, world.tokens["alice"])   # process A
    bob = sockets(second.url, world.tokens["bob"])     # process B
    for client in (alice, bob):
        client.emit("joinAll", str(world.club.id))
    time.sleep(0.4)

    message_id = alice.call("sendMessage", text("across", world.general.id))
    assert bob.wait_for("newMessage", lambda p: p["message"]["id"] == message_id)

    api = login_as(world.alice)  # REST goes through the test process: a third one
    edited = api.patch(f"/api/messages/{message_id}", json={"spans": [{"type": "PLAINTEXT", "text": "edited"}],
                                                            "editedAt": "1999-01-01T00:00:00.000Z"})
    assert edited.status_code == 200 and edited.get_json()["editedAt"] > "2000"
    update = bob.wait_for("updateMessage", lambda p: p["message"]["id"] == message_id)
    assert update["message"]["spans"][0]["text"] == "edited"

    assert api.post("/api/messages/reactions", json={"messageId": message_id, "emoji": "🦑"}).status_code == 201
    added = bob.wait_for("reactionAdded")
    assert added["messageId"] == message_id and added["reaction"] == {"emoji": "🦑", "userIds": [str(world.alice.id)]}
    assert api.delete("/api/messages/reactions", json={"messageId": message_id, "emoji": "🦑"}).status_code == 200
    removed = bob.wait_for("reactionRemoved")
    assert removed["emoji"] == "🦑" and removed["reactions"] == []

    alice.emit("typingStart", {"channelId": str(world.general.id)})
    assert bob.wait_for("userTyping", lambda p: p["userId"] == str(world.alice.id))

    bob_id = bob.call("sendMessage", text("back", world.general.id))
    assert alice.wait_for("newMessage", lambda p: p["message"]["id"] == bob_id)

    assert api.delete(f"/api/messages/{message_id}").status_code == 204
    gone = bob.wait_for("deleteMessage")
    assert gone == {"messageId": message_id, "channelId": str(world.general.id), "directMessageGroupId": None}
    assert Message.objects(id=message_id).count() == 0
