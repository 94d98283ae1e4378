"""0005_search_index on stored messages: channels, a direct-message group, a thread and a deleted message
are indexed once; a second run writes nothing; searches then find them without a catch-up."""
import mongoengine

from kraken import migrations
from kraken.messages import service as messages
from kraken.search import index


def _index_state(db) -> tuple:
    return (sorted((d["_id"], d["n"]) for d in db[index.HEADS].find()),
            sorted((d["_id"], sorted(d["refs"])) for d in db[index.BLOCKS].find()),
            sorted((d["_id"], d["seq"]) for d in db[index.PROGRESS].find()))


def test_migration_indexes_stored_messages_once(factory, community, login_as):
    c = community
    stored = [factory.message(c.general, c.member, f"legacy note {i}") for i in range(150)]  # three buckets
    secret = factory.message(c.private, c.pcmember, "legacy secret")
    reply = factory.message(c.general, c.admin, "legacy answer", parent_message_id=stored[0].id)
    direct = factory.direct_message(c.dm_group, c.member, "legacy dinner")
    messages.delete(c.member, str(stored[5].id))  # a tombstone in the numbering
    lines: list[str] = []
    db = mongoengine.get_db()
    migrations.load("0005_search_index").up(db, lines.append)
    assert any("to index" in line for line in lines) and "messages indexed" in lines[-1]
    state = _index_state(db)
    assert dict(state[2])[c.general.id] == 150
    lines.clear()
    migrations.load("0005_search_index").up(db, lines.append)  # idempotent
    assert _index_state(db) == state and lines == [f"  {len(state[2])} conversations, 0 to index"]

    member = login_as(c.member)
    found = member.get(f"/api/messages/search/channel/{c.general.id}",
                       query_string={"q": "legacy", "limit": 100}).get_json()
    expected = [str(m.id) for m in stored[::-1] if m.id != stored[5].id]
    assert [m["id"] for m in found] == [str(reply.id)] + expected[:99]
    assert member.get(f"/api/messages/search/channel/{c.general.id}?q=answer").get_json()[0]["id"] == str(reply.id)
    assert member.get(f"/api/messages/search/community/{c.id}?q=secret").get_json() == []
    assert login_as(c.pcmember).get(f"/api/messages/search/community/{c.id}?q=secret").get_json()[0]["id"] == \
        str(secret.id)
    assert member.get(f"/api/messages/search/group/{c.dm_group.id}?q=dinner").get_json()[0]["id"] == str(direct.id)
    # conversations were indexed together in the order of time: the community's newest come first
    newest = login_as(c.pcmember).get(f"/api/messages/search/community/{c.id}?q=legacy&limit=10").get_json()
    assert [m["id"] for m in newest] == [str(reply.id), str(secret.id)] + expected[:8]
