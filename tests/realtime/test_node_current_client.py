"""The current web client's chat flow with Node socket.io-client 4 over two app processes: connect
with auth.token, `subscribeAll` once and never `joinAll`; rooms follow memberships on the server."""
import json
import subprocess

from kraken.messages.models import Message
from tests.live import ROOT


def test_current_client_creates_chats_and_is_cut_off_across_processes(live, live_b, factory, token_for):
    subprocess.run([str(ROOT / "scripts/node-deps.sh")], check=True, timeout=300)
    factory.owner("root")
    alice, bob = factory.user("alice"), factory.user("bob")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "URL_A": live.url, "URL_B": live_b.url,
           "CREATOR_TOKEN": token_for(alice), "JOINER_TOKEN": token_for(bob), "JOINER_ID": str(bob.id),
           "COMMUNITY_NAME": "Node Club"}
    run = subprocess.run(["node", str(ROOT / "tests/node/current_client_flow.mjs")], env=env,
                         capture_output=True, text=True, timeout=60)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and result["ok"], result
    # like the current client: subscribeAll once per socket, never joinAll or joinRoom
    assert result["outgoing"]["creator"].count("subscribeAll") == 1
    assert result["outgoing"]["joiner"] == ["subscribeAll", "markAsRead"]  # markAsRead: step 5, reading the DM
    assert not {"joinAll", "joinRoom"} & set(result["outgoing"]["creator"])
    assert result["onboarding"] == {"needsSetup": False, "hasUsers": True}
    assert result["refusedWith"] == "AUTH_FAILED"
    # the creator heard its own message; the first history page (empty token) holds it
    assert result["ownMessage"]["message"]["id"] == result["firstAck"]
    assert result["firstPageIds"] == [result["firstAck"]]
    # the joiner, on the other process, was told and heard the next message live
    assert result["memberAdded"] == {"communityId": result["communityId"], "userId": str(bob.id)}
    assert result["joinerHeard"]["message"]["id"] == result["secondAck"]
    # the creator's thread reply (acked with its id) reached the joiner on the other process, with the count
    assert result["threadHeard"]["reply"]["id"] == result["threadAck"]
    assert result["threadCount"]["replyCount"] == 1 and result["threadCount"]["channelId"] == result["channelId"]
    assert result["threadPageIds"] == [result["threadAck"]]
    assert result["threadMeta"]["replyCount"] == 1 and result["threadMeta"]["isSubscribed"] is True
    # once removed: nothing for a second, while the message was stored and the creator heard it
    assert result["leakedToRemoved"] is None and result["silentFor"] >= 1000
    assert result["creatorHeardThird"] and Message.objects(id=result["thirdAck"]).count() == 1
    # a direct message, sent on process A, reached the other user's socket on process B
    assert result["dmHeard"]["message"]["id"] == result["dmAck"] and result["dmId"] in result["joinerConversations"]
    # markAsRead from process B: the DM's room hears who read, the reader's socket its watermark
    assert result["readSeen"]["lastReadMessageId"] == result["dmAck"] and result["readSeen"]["username"]
    assert result["readOwn"]["lastReadMessageId"] == result["dmAck"]
    assert result["joinerUnread"]["unreadCount"] == 0 and result["joinerUnread"]["lastReadMessageId"] == result["dmAck"]
    assert result["outgoing"]["creator"].count("sendDirectMessage") == 1
