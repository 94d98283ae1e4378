"""`channelCreated` reaches the current web client's socket library (Node socket.io-client 4) on the
other process, with its payload; a private channel's creation does not reach a member who may not see
it, and neither reaches a user of another community (kraken-head-features §7, decision 0057)."""
import json
import subprocess

from tests.live import ROOT


def test_socket_io_client_4_hears_channel_created_from_the_other_process(live, live_b, factory, token_for):
    subprocess.run([str(ROOT / "scripts/node-deps.sh")], check=True, timeout=300)
    admin, member, outsider = factory.user("admin"), factory.user("member"), factory.user("outsider")
    club = factory.community(admin, "Node Club")
    factory.community(outsider, "Elsewhere")
    factory.member(member, club)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "URL_A": live.url, "URL_B": live_b.url,
           "ADMIN_TOKEN": token_for(admin), "MEMBER_TOKEN": token_for(member),
           "OUTSIDER_TOKEN": token_for(outsider), "COMMUNITY_ID": str(club.id)}
    run = subprocess.run(["node", str(ROOT / "tests/node/lifecycle_channel_created.mjs")], env=env,
                         capture_output=True, text=True, timeout=60)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and result["ok"], result
    assert result["announced"] == {"communityId": str(club.id), "channel": result["created"]}
    assert result["created"]["name"] == "node-public" and result["created"]["isPrivate"] is False
    # heard in order: nothing about the private channel created just before, then the public one
    heard = [p["channel"]["id"] for p in result["heard"] if not p["channel"]["name"].startswith("warm-")]
    assert heard == [result["created"]["id"]]
    assert result["outsiderHeard"] == []
