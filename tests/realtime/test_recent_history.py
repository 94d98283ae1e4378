"""The recent-history cache answers exactly what the database would, through sends, edits,
reactions, deletes, Redis losing it, and histories longer than its window."""
import mongoengine

from kraken.extensions import redis
from kraken.messages import recent, timeline
from kraken.messages.models import Message
from tests.realtime.test_messaging_sockets import text


def all_pages(api, channel_id, limit):
    seen, token = [], None
    while True:
        url = f"/api/messages/channel/{channel_id}?limit={limit}" + (f"&continuationToken={token}" if token else "")
        page = api.get(url).get_json()
        seen += page["messages"]
        token = page.get("continuationToken")
        if not token:
            return seen


def from_db(channel_id):
    """The channel's history as stored: newest first by its number in the channel (kraken.messages.timeline)."""
    from kraken.messages.schemas import message_out
    return [message_out(m) for m in stored(channel_id)]


def stored(channel_id):
    return list(Message.objects(channel_id=channel_id).order_by("-seq"))


def test_cache_follows_every_write(community, login_as):
    api = login_as(community.admin)
    ids = [api.post("/api/messages", json=text(f"m{i}", community.general.id)).get_json()["id"] for i in range(5)]
    assert all_pages(api, community.general.id, 2) == from_db(community.general.id)  # fills the cache
    assert redis.exists(recent._LIST + str(community.general.id))
    api.post("/api/messages", json=text("fresh", community.general.id))
    api.patch(f"/api/messages/{ids[1]}", json={"spans": [{"type": "PLAINTEXT", "text": "edited"}]})
    api.post("/api/messages/reactions", json={"messageId": ids[2], "emoji": "🐙"})
    api.delete(f"/api/messages/{ids[3]}")
    cached = all_pages(api, community.general.id, 3)
    assert cached == from_db(community.general.id)
    assert [m["spans"][0]["text"] for m in cached] == ["fresh", "m4", "m2", "edited", "m0"]
    assert cached[2]["reactions"] == [{"emoji": "🐙", "userIds": [str(community.admin.id)]}]


def test_losing_redis_data_refills_from_the_database(community, login_as):
    api = login_as(community.admin)
    for i in range(3):
        api.post("/api/messages", json=text(f"m{i}", community.general.id))
    all_pages(api, community.general.id, 50)
    redis.flushdb()
    assert all_pages(api, community.general.id, 2) == from_db(community.general.id)


def test_a_fill_that_raced_a_write_is_not_stored(community, login_as):
    api = login_as(community.admin)
    api.post("/api/messages", json=text("old", community.general.id))
    seen = recent.generation(community.general.id)
    from kraken.messages.schemas import message_out
    stale = [recent.encode(message_out(m), m.seq) for m in stored(community.general.id)]
    api.post("/api/messages", json=text("new", community.general.id))  # a writer comes in between
    recent.fill(community.general.id, seen, stale, complete=True)
    assert not redis.exists(recent._LIST + str(community.general.id))
    assert [m["spans"][0]["text"] for m in all_pages(api, community.general.id, 10)] == ["new", "old"]


def test_history_longer_than_the_window_pages_past_it(community, login_as):
    db = mongoengine.get_db()
    from kraken.common.time import utcnow
    now = utcnow()
    docs = [{"channelId": community.general.id, "authorId": community.admin.id, "spans": [{"type": "PLAINTEXT", "text": f"h{i}"}],
             "attachments": [], "reactions": [], "sentAt": now} for i in range(recent.KEEP + 30)]
    timeline.number(docs)  # as the app's inserts do
    db.messages.insert_many(docs)
    api = login_as(community.admin)
    pages = all_pages(api, community.general.id, 40)
    assert len(pages) == recent.KEEP + 30
    assert pages == from_db(community.general.id)
    api.post("/api/messages", json=text("newest", community.general.id))
    again = all_pages(api, community.general.id, 40)
    assert again == from_db(community.general.id) and again[0]["spans"][0]["text"] == "newest"
