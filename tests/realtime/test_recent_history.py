"""The recent-history cache answers exactly what the database would, through sends, edits,
reactions, deletes, Redis losing it, and histories longer than its window."""
import mongoengine

from kraken.extensions import redis
from kraken.messages import recent, timeline
from kraken.messages.models import Message
from tests.realtime.test_messaging_sockets import text, world  # noqa: F401


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


def test_cache_follows_every_write(world, login_as):
    api = login_as(world.alice)
    ids = [api.post("/api/messages", json=text(f"m{i}", world.general.id)).get_json()["id"] for i in range(5)]
    assert all_pages(api, world.general.id, 2) == from_db(world.general.id)  # fills the cache
    assert redis.exists(recent._LIST + str(world.general.id))
    api.post("/api/messages", json=text("fresh", world.general.id))
    api.patch(f"/api/messages/{ids[1]}", json={"spans": [{"type": "PLAINTEXT", "text": "edited"}]})
    api.post("/api/messages/reactions", json={"messageId": ids[2], "emoji": "🐙"})
    api.delete(f"/api/messages/{ids[3]}")
    cached = all_pages(api, world.general.id, 3)
    assert cached == from_db(world.general.id)
    assert [m["spans"][0]["text"] for m in cached] == ["fresh", "m4", "m2", "edited", "m0"]
    assert cached[2]["reactions"] == [{"emoji": "🐙", "userIds": [str(world.alice.id)]}]


def test_losing_redis_data_refills_from_the_database(world, login_as):
    api = login_as(world.alice)
    for i in range(3):
        api.post("/api/messages", json=text(f"m{i}", world.general.id))
    all_pages(api, world.general.id, 50)
    redis.flushdb()
    assert all_pages(api, world.general.id, 2) == from_db(world.general.id)


def test_a_fill_that_raced_a_write_is_not_stored(world, login_as):
    api = login_as(world.alice)
    api.post("/api/messages", json=text("old", world.general.id))
    seen = recent.generation(world.general.id)
    from kraken.messages.schemas import message_out
    stale = [recent.encode(message_out(m), m.seq) for m in stored(world.general.id)]
    api.post("/api/messages", json=text("new", world.general.id))  # a writer comes in between
    recent.fill(world.general.id, seen, stale, complete=True)
    assert not redis.exists(recent._LIST + str(world.general.id))
    assert [m["spans"][0]["text"] for m in all_pages(api, world.general.id, 10)] == ["new", "old"]


def test_history_longer_than_the_window_pages_past_it(world, login_as):
    db = mongoengine.get_db()
    from kraken.common.time import utcnow
    now = utcnow()
    docs = [{"channelId": world.general.id, "authorId": world.alice.id, "spans": [{"type": "PLAINTEXT", "text": f"h{i}"}],
             "attachments": [], "reactions": [], "sentAt": now} for i in range(recent.KEEP + 30)]
    timeline.number(docs)  # as the app's inserts do
    db.messages.insert_many(docs)
    api = login_as(world.alice)
    pages = all_pages(api, world.general.id, 40)
    assert len(pages) == recent.KEEP + 30
    assert pages == from_db(world.general.id)
    api.post("/api/messages", json=text("newest", world.general.id))
    again = all_pages(api, world.general.id, 40)
    assert again == from_db(world.general.id) and again[0]["spans"][0]["text"] == "newest"
