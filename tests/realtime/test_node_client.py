"""The browser's exact protocol: a Node socket.io-client 4 script against the live server."""
import json
import subprocess

from kraken.messages.models import Message
from tests.live import ROOT
from tests.realtime.test_messaging_sockets import world  # noqa: F401


def test_socket_io_client_4_sends_with_ack_and_receives_new_message(live, world):
    subprocess.run([str(ROOT / "scripts/node-deps.sh")], check=True, timeout=300)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "KRAKEN_URL": live.url, "SENDER_TOKEN": world.tokens["alice"],
           "RECEIVER_TOKEN": world.tokens["bob"], "COMMUNITY_ID": str(world.club.id),
           "CHANNEL_ID": str(world.general.id)}
    run = subprocess.run(["node", str(ROOT / "tests/node/web_client_protocol.mjs")], env=env,
                         capture_output=True, text=True, timeout=30)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0, result
    assert result["connected"] == 2 and result["refusedWith"] == "AUTH_FAILED"
    assert result["received"]["id"] == result["ackId"]
    assert result["received"]["authorId"] == str(world.alice.id)  # the client's authorId is ignored
    stored = Message.objects(id=result["ackId"]).first()
    assert stored is not None and stored.spans[0]["text"] == "hello from node"
