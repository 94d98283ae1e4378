"""The browser's exact protocol: a Node socket.io-client 4 script against the live server."""
import json
import subprocess

from kraken.messages.models import Message
from tests.live import ROOT


def test_socket_io_client_4_sends_with_ack_and_receives_new_message(live, community):
    subprocess.run([str(ROOT / "scripts/node-deps.sh")], check=True, timeout=300)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "KRAKEN_URL": live.url, "SENDER_TOKEN": community.tokens["admin"],
           "RECEIVER_TOKEN": community.tokens["pcmember"], "COMMUNITY_ID": str(community.id),
           "CHANNEL_ID": str(community.general.id)}
    run = subprocess.run(["node", str(ROOT / "tests/node/web_client_protocol.mjs")], env=env,
                         capture_output=True, text=True, timeout=30)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0, result
    assert result["connected"] == 2 and result["refusedWith"] == "AUTH_FAILED"
    assert result["received"]["id"] == result["ackId"]
    assert result["received"]["authorId"] == str(community.admin.id)  # the client's authorId is ignored
    stored = Message.objects(id=result["ackId"]).first()
    assert stored is not None and stored.spans[0]["text"] == "hello from node"
