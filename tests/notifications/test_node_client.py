"""Node socket.io-client 4 (the web client's library) receives `newNotification` on process B for a
mention sent on process A, and `notificationRead` after marking it read."""
import json
import subprocess

from tests.live import ROOT


def test_node_client_hears_new_notification_across_processes(live, live_b, community):
    subprocess.run([str(ROOT / "scripts/node-deps.sh")], check=True, timeout=300)
    c = community
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "URL_A": live.url, "URL_B": live_b.url,
           "AUTHOR_TOKEN": c.tokens["admin"], "RECIPIENT_TOKEN": c.tokens["member"],
           "RECIPIENT_ID": str(c.member.id), "CHANNEL_ID": str(c.general.id)}
    run = subprocess.run(["node", str(ROOT / "tests/node/notifications_flow.mjs")], env=env,
                         capture_output=True, text=True, timeout=60)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and result["ok"], result
    got = result["notification"]
    assert got["messageId"] == result["ack"] and got["type"] == "USER_MENTION" and got["read"] is False
    assert got["channelId"] == str(c.general.id) and got["author"]["id"] == str(c.admin.id)
    assert result["readStatus"] == 200 and result["read"] == {"notificationId": got["notificationId"]}
    assert result["unread"] == {"count": 0}
