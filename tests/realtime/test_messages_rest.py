"""Message REST (contract §5.6, docs/decisions/0013-one-send-path.md): one service with the socket path;
history, edits, deletes, reactions."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from kraken.messages.models import Message
from kraken.roles.models import Role
from kraken.roles import service as roles
from tests.realtime.test_messaging_sockets import text


def test_post_stores_and_returns_the_message(community, login_as):
    api = login_as(community.admin)
    response = api.post("/api/messages/", json=text("via rest", community.general.id, nonce="r1"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["authorId"] == str(community.admin.id) and body["nonce"] == "r1"
    again = api.post("/api/messages", json=text("via rest", community.general.id, nonce="r1"))
    assert again.get_json()["id"] == body["id"] and Message.objects.count() == 1
    assert api.get(f"/api/messages/{body['id']}").get_json()["spans"][0]["text"] == "via rest"


def test_history_is_newest_first_with_an_exclusive_cursor(community, login_as):
    api = login_as(community.pcmember)
    ids = [api.post("/api/messages", json=text(f"m{i}", community.general.id)).get_json()["id"] for i in range(7)]
    seen, token = [], None
    while True:
        url = f"/api/messages/channel/{community.general.id}?limit=3" + (f"&continuationToken={token}" if token else "")
        page = api.get(url).get_json()
        seen += [m["id"] for m in page["messages"]]
        token = page.get("continuationToken")
        if not token:
            break
    assert seen == list(reversed(ids))
    full_last = api.get(f"/api/messages/channel/{community.general.id}?limit=7").get_json()
    assert "continuationToken" in full_last
    after_last = api.get(f"/api/messages/channel/{community.general.id}?limit=7&continuationToken={ids[0]}").get_json()
    assert after_last == {"messages": []}
    for bad in ("limit=0", "limit=101", "limit=x", "continuationToken=zz"):
        assert api.get(f"/api/messages/channel/{community.general.id}?{bad}").status_code == 400


def test_an_empty_continuation_token_asks_for_the_first_page(community, login_as):
    """The current web client asks for its first page with `continuationToken=` (kraken-head-features §9)."""
    api = login_as(community.pcmember)
    ids = [api.post("/api/messages", json=text(f"m{i}", community.general.id)).get_json()["id"] for i in range(30)]
    first = api.get(f"/api/messages/channel/{community.general.id}?limit=25&continuationToken=")
    assert first.status_code == 200
    page = first.get_json()
    assert [m["id"] for m in page["messages"]] == list(reversed(ids))[:25]
    assert page["continuationToken"] == ids[5]
    assert page == api.get(f"/api/messages/channel/{community.general.id}?limit=25").get_json()
    # every empty optional query value counts as absent: the default limit (50) here
    everything = api.get(f"/api/messages/channel/{community.general.id}?limit=&continuationToken=").get_json()
    assert len(everything["messages"]) == 30 and "continuationToken" not in everything
    users = api.get("/api/users?continuationToken=&limit=")
    assert users.status_code == 200 and len(users.get_json()["users"]) == len(community.people)  # everyone


def test_private_channel_history_is_404_for_non_members(community, login_as):
    login_as(community.pcmember).post("/api/messages", json=text("psst", community.private.id))
    assert login_as(community.member).get(f"/api/messages/channel/{community.private.id}").status_code == 404
    message_id = Message.objects.first().id
    assert login_as(community.member).get(f"/api/messages/{message_id}").status_code == 404
    assert login_as(community.outsider).get(f"/api/messages/channel/{community.general.id}").status_code == 403


def test_only_the_author_edits(community, login_as):
    message_id = login_as(community.pcmember).post("/api/messages", json=text("mine", community.general.id)).get_json()["id"]
    edit = {"spans": [{"type": "PLAINTEXT", "text": "changed"}]}
    assert login_as(community.admin).patch(f"/api/messages/{message_id}", json=edit).status_code == 403  # even the admin
    response = login_as(community.pcmember).patch(f"/api/messages/{message_id}", json=edit)
    assert response.status_code == 200 and response.get_json()["editedAt"] is not None
    assert login_as(community.pcmember).patch(f"/api/messages/{message_id}",
                                     json={"spans": [{"type": "PLAINTEXT", "text": " \u200b"}]}).status_code == 400
    assert Message.objects(id=message_id).first().spans[0]["text"] == "changed"


def test_delete_by_author_or_delete_message_holders_of_that_community(community, login_as, factory):
    pcmember = login_as(community.pcmember)
    first = pcmember.post("/api/messages", json=text("one", community.general.id)).get_json()["id"]
    second = pcmember.post("/api/messages", json=text("two", community.general.id)).get_json()["id"]
    assert login_as(community.member).delete(f"/api/messages/{first}").status_code == 403
    # an admin of another community has no say here
    assert login_as(community.outsider).delete(f"/api/messages/{first}").status_code == 403
    assert login_as(community.admin).delete(f"/api/messages/{first}").status_code == 204
    assert pcmember.delete(f"/api/messages/{second}").status_code == 204
    assert pcmember.delete(f"/api/messages/{second}").status_code == 404
    assert Message.objects.count() == 0


def test_reactions_are_idempotent_and_atomic_under_concurrency(community, login_as, factory):
    from kraken.memberships import service as memberships
    message_id = login_as(community.pcmember).post("/api/messages", json=text("react", community.general.id)).get_json()["id"]
    users = [factory.user(f"fan{i}") for i in range(10)]
    for user in users:
        memberships.join(user.id, community.id)
    clients = [login_as(u) for u in users]
    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(lambda c: c.post("/api/messages/reactions",
                                                  json={"messageId": message_id, "emoji": "👍"}).status_code, clients))
    assert statuses == [201] * 10
    clients[0].post("/api/messages/reactions", json={"messageId": message_id, "emoji": "👍"})  # again: no-op
    reactions = login_as(community.pcmember).get(f"/api/messages/{message_id}").get_json()["reactions"]
    assert len(reactions) == 1 and sorted(reactions[0]["userIds"]) == sorted(str(u.id) for u in users)
    clients[0].delete("/api/messages/reactions", json={"messageId": message_id, "emoji": "👍"})
    clients[0].delete("/api/messages/reactions", json={"messageId": message_id, "emoji": "👍"})
    reactions = login_as(community.pcmember).get(f"/api/messages/{message_id}").get_json()["reactions"]
    assert len(reactions[0]["userIds"]) == 9
    for bad in ({"messageId": message_id, "emoji": ""}, {"messageId": message_id, "emoji": "x" * 33},
                {"messageId": "nope", "emoji": "x"}, {"messageId": message_id, "emoji": {"$ne": 1}}):
        assert clients[1].post("/api/messages/reactions", json=bad).status_code == 400


def test_members_without_create_message_cannot_send(community, login_as):
    member_role = Role.objects(community_id=community.id, name="Member").first()
    roles.update_role(community.owner, None, community.id, str(member_role.id), None, ["READ_COMMUNITY", "READ_CHANNEL",
                                                                                   "READ_MESSAGE"])
    response = login_as(community.member).post("/api/messages", json=text("muted", community.general.id))
    assert response.status_code == 403 and Message.objects.count() == 0
    assert login_as(community.member).get(f"/api/messages/channel/{community.general.id}").status_code == 200


def test_deleting_a_channel_deletes_its_messages(community, login_as):
    api = login_as(community.admin)
    api.post("/api/messages", json=text("bye", community.general.id))
    assert api.delete(f"/api/channels/{community.general.id}").status_code == 204
    assert Message.objects(channel_id=community.general.id).count() == 0


@pytest.mark.parametrize("count", [11])
def test_more_than_ten_attachments_is_400(community, login_as, count):
    body = text("files", community.general.id)
    body["attachments"] = ["a" * 24] * count
    assert login_as(community.admin).post("/api/messages", json=body).status_code == 400
