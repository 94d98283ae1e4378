"""Read watermarks and unread counts (kraken-head-features §2, docs/decisions/0046-read-state.md)."""
import random

from bson import ObjectId

from kraken.messages import service as messages
from kraken.messages.schemas import DirectMessageIn
from kraken.read_state import service
from kraken.read_state.models import ReadState
from kraken.read_state.schemas import MarkReadIn
from kraken.realtime import background
from tests.factories import race


def _mark(api, message, **where):
    return api.post("/api/read-receipts/mark-read", json={"lastReadMessageId": str(message.id), **where})


def _counts(api) -> dict:
    response = api.get("/api/read-receipts/unread-counts")
    assert response.status_code == 200, response.get_json()
    return {item.get("channelId") or item.get("directMessageGroupId"): item for item in response.get_json()}


def _mention(user):
    return [{"type": "USER_MENTION", "userId": str(user.id)}, {"type": "PLAINTEXT", "text": " hi"}]


def _dm(author, group, text="hello", spans=None):
    """A direct message through the send path, once its read-state reactions (after the ack) have run."""
    message = messages.send_direct(author, DirectMessageIn.model_validate(
        {"directMessageGroupId": str(group.id), "spans": spans or [{"type": "PLAINTEXT", "text": text}]}))
    assert background.wait_soon()
    return message


def test_unread_counts_follow_sends_and_marks(factory, community, login_as):
    c = community
    general = str(c.general.id)
    sent = [factory.send(c.admin, c.general, f"m{i}") for i in range(5)]
    api = login_as(c.member)
    counts = _counts(api)
    assert counts[general]["unreadCount"] == 5 and counts[general]["mentionCount"] == 0
    assert "lastReadMessageId" not in counts[general]
    assert str(c.private.id) not in counts  # not a member of the private channel
    assert _counts(login_as(c.admin))[general]["unreadCount"] == 0  # the author's own messages are read

    response = _mark(api, sent[2], channelId=general)
    assert response.status_code == 200
    receipt = response.get_json()
    assert receipt["lastReadMessageId"] == str(sent[2].id) and receipt["channelId"] == general
    assert receipt["directMessageGroupId"] is None and receipt["userId"] == str(c.member.id)
    counts = _counts(api)
    assert counts[general]["unreadCount"] == 2 and counts[general]["lastReadMessageId"] == str(sent[2].id)

    factory.send(c.admin, c.general, "x", spans=_mention(c.member))
    counts = _counts(api)
    assert counts[general]["unreadCount"] == 3 and counts[general]["mentionCount"] == 1
    assert _mark(api, sent[4], channelId=general).status_code == 200
    counts = _counts(api)  # mentions are cleared by a mark; unread is what follows the watermark
    assert counts[general]["unreadCount"] == 1 and counts[general]["mentionCount"] == 0


def test_watermark_never_moves_back(factory, community, login_as):
    c = community
    general = str(c.general.id)
    first, second = factory.send(c.admin, c.general, "a"), factory.send(c.admin, c.general, "b")
    api = login_as(c.member)
    assert _mark(api, second, channelId=general).get_json()["lastReadMessageId"] == str(second.id)
    late = _mark(api, first, channelId=general)  # a tab that was behind
    assert late.status_code == 200 and late.get_json()["lastReadMessageId"] == str(second.id)
    assert _mark(api, second, channelId=general).get_json()["lastReadMessageId"] == str(second.id)
    assert _counts(api)[general]["unreadCount"] == 0


def test_concurrent_marks_keep_the_furthest(factory, community, app):
    c = community
    sent = [factory.send(c.admin, c.general, f"m{i}") for i in range(40)]
    order = list(sent)
    random.shuffle(order)

    def work(chunk):
        for message in chunk:
            service.mark_read(c.member, MarkReadIn(lastReadMessageId=str(message.id),
                                                   channelId=str(c.general.id)), announce=False)

    race(app, [lambda chunk=order[i::8]: work(chunk) for i in range(8)])
    mark = ReadState.objects(id=c.member.id).get().marks[str(c.general.id)]
    assert mark["messageId"] == str(sent[-1].id) and mark["seq"] == sent[-1].seq


def test_bad_marks_are_400_and_change_nothing(factory, community, login_as):
    c = community
    general = str(c.general.id)
    elsewhere = factory.send(c.outsider, c.elsewhere_general, "far")
    api = login_as(c.member)
    mine = factory.send(c.admin, c.general, "a")
    assert _mark(api, mine).status_code == 400  # no conversation
    assert _mark(api, mine, channelId=general, directMessageGroupId=str(c.dm.id)).status_code == 400
    assert _mark(api, elsewhere, channelId=general).status_code == 400  # not of this channel
    gone = api.post("/api/read-receipts/mark-read", json={"lastReadMessageId": "0" * 24, "channelId": general})
    assert gone.status_code == 400 and "Message not found" in str(gone.get_json())
    assert api.post("/api/read-receipts/mark-read", json={"lastReadMessageId": "zz", "channelId": general}).status_code == 400
    assert ReadState.objects(id=c.member.id).first() is None


def test_non_members_cannot_mark_or_read_peer_reads(factory, community, login_as):
    c = community
    secret = factory.send(c.pcmember, c.private, "shh")
    far = factory.send(c.outsider, c.elsewhere_general, "far")
    api = login_as(c.nopc)
    assert _mark(api, secret, channelId=str(c.private.id)).status_code == 404
    assert _mark(api, far, channelId=str(c.elsewhere_general.id)).status_code == 403  # not in that community
    assert _mark(api, _dm(c.member, c.dm, "psst"), directMessageGroupId=str(c.dm.id)).status_code == 404
    assert api.get(f"/api/read-receipts/dm-peer-reads/{c.dm.id}").status_code == 404
    assert ReadState.objects(id=c.nopc.id).first() is None


def test_direct_messages_unread_and_peer_reads(community, login_as):
    c = community
    sent = [_dm(c.member, c.dm, f"d{i}") for i in range(3)]
    mention = _dm(c.member, c.dm, spans=_mention(c.pcmember))
    api = login_as(c.pcmember)
    counts = _counts(api)
    assert counts[str(c.dm.id)]["unreadCount"] == 4 and counts[str(c.dm.id)]["mentionCount"] == 1
    assert str(c.dm_group.id) not in counts  # nothing said there yet
    assert _mark(api, sent[1], directMessageGroupId=str(c.dm.id)).status_code == 200
    assert _counts(api)[str(c.dm.id)]["unreadCount"] == 2
    peers = login_as(c.member).get(f"/api/read-receipts/dm-peer-reads/{c.dm.id}").get_json()
    assert [p["userId"] for p in peers] == [str(c.pcmember.id)] and peers[0]["lastReadAt"]
    assert mention.seq == 4


def _pending(redis_client, user) -> dict:
    return redis_client.hgetall(f"kraken:ownmark:{user.id}")


def test_own_marks_are_written_behind_and_survive_losing_redis(factory, community, login_as, app):
    """Sending marks the author's message read at once (pending in Redis), a round writes it to the
    author's read state and forgets it; then the mark holds without Redis (decision 0050)."""
    from kraken.extensions import redis as redis_client

    c = community
    general = str(c.general.id)
    # this process's own-marks task (started by an earlier send) would write the marks on its own,
    # at any moment: the test runs the round itself
    with background.paused(service.FLUSH_TASK):
        sent = [factory.send(c.admin, c.general, f"m{i}") for i in range(3)]
        dm = _dm(c.admin, c.dm_group, "to the group")
        assert ReadState.objects(id=c.admin.id).first() is None  # nothing written inside the sends
        assert set(_pending(redis_client, c.admin)) == {general, str(c.dm_group.id)}
        admin = login_as(c.admin)
        assert _counts(admin)[general]["unreadCount"] == 0
        assert _counts(admin)[general]["lastReadMessageId"] == str(sent[-1].id)

        with app.app_context():
            assert service.write_own_marks() == 2
    marks = ReadState.objects(id=c.admin.id).get().marks
    assert marks[general]["seq"] == sent[-1].seq and marks[general]["messageId"] == str(sent[-1].id)
    assert marks[str(c.dm_group.id)]["messageId"] == str(dm.id)
    assert _pending(redis_client, c.admin) == {}
    assert not redis_client.sismember("kraken:ownmark:dirty", str(c.admin.id))

    redis_client.flushdb()  # Redis lost: the stored marks and the counters answer
    counts = _counts(admin)
    assert counts[general]["unreadCount"] == 0 and counts[str(c.dm_group.id)]["unreadCount"] == 0
    assert counts[general]["lastReadMessageId"] == str(sent[-1].id)


def test_an_explicit_mark_behind_the_own_mark_answers_the_further(factory, community, login_as):
    c = community
    general = str(c.general.id)
    other = factory.send(c.member, c.general, "first")
    mine = factory.send(c.admin, c.general, "mine")
    receipt = _mark(login_as(c.admin), other, channelId=general).get_json()
    assert receipt["lastReadMessageId"] == str(mine.id)  # the pending own mark is further
    assert _counts(login_as(c.admin))[general]["unreadCount"] == 0


def test_sends_racing_write_rounds_end_at_the_last_message(factory, community, app):
    """4 authors' sends race 2 writers of own marks: every author's stored mark ends at their last
    message and nothing stays pending."""
    from kraken.extensions import redis as redis_client

    c = community
    authors = [c.owner, c.admin, c.mod, c.member]
    last = {}

    def send(author):
        for i in range(25):
            last[author.id] = factory.send(author, c.general, f"{author.username} {i}")

    race(app, [lambda a=a: send(a) for a in authors], loops=[service.write_own_marks] * 2)
    with app.app_context():
        service.write_own_marks()
    for author in authors:
        mark = ReadState.objects(id=author.id).get().marks[str(c.general.id)]
        assert mark["seq"] == last[author.id].seq and mark["messageId"] == str(last[author.id].id)
        assert _pending(redis_client, author) == {}
    assert redis_client.scard("kraken:ownmark:dirty") == 0


def test_unread_counts_without_the_mirror_read_each_communitys_counters(factory, community, login_as):
    """Redis lost: channels' last numbers come from their community's counters, DM groups' from the
    counters listing the reader (one equality each; counters learn their community and readers at the
    first such read); the counts are the same as with the mirror, also for messages sent after it."""
    from kraken.extensions import redis as redis_client
    from kraken.direct_messages.models import DirectMessageMembership
    from kraken.messages.models import MessageCounter

    c = community
    extra = factory.channel(c.doc, c.admin, "extra")
    factory.member(c.outsider, c.doc)
    factory.member(c.member, c.elsewhere)
    for channel, n in ((c.general, 3), (extra, 2), (c.elsewhere_general, 4)):
        for i in range(n):
            factory.send(c.outsider if channel == c.elsewhere_general else c.admin, channel, f"m{i}")
    _dm(c.pcmember, c.dm, "psst")
    api = login_as(c.member)
    with_mirror = _counts(api)
    assert with_mirror[str(extra.id)]["unreadCount"] == 2 and with_mirror[str(c.elsewhere_general.id)]["unreadCount"] == 4

    redis_client.flushdb()
    # with the mirror, only the empty channels (no number mirrored) were looked up: they got a counter
    assert {str(m.id) for m in MessageCounter.objects(community_id=c.doc.id)} == {str(c.voice.id), str(c.victim.id)}
    assert _counts(api) == with_mirror
    # every channel the member may enter now has a counter naming its community, the empty ones too
    # (no number: 0), so the next cold read is one equality per community; not the private one
    learnt = {str(m.id): m.seq for m in MessageCounter.objects(community_id=c.doc.id)}
    assert learnt == {str(c.general.id): 3, str(extra.id): 2, str(c.voice.id): 0, str(c.victim.id): 0}
    assert MessageCounter.objects(id=c.private.id).count() == 0
    assert {str(m.id) for m in MessageCounter.objects(community_id=c.elsewhere.id)} >= {str(c.elsewhere_general.id)}
    groups = {str(g) for g in DirectMessageMembership.objects(user_id=c.member.id).scalar("group_id")}
    assert str(c.dm.id) in groups and len(groups) > 1  # one with messages, one empty at least
    assert {str(m.id) for m in MessageCounter.objects(readers=c.member.id)} == groups

    redis_client.flushdb()
    factory.send(c.admin, extra, "after the loss")
    _dm(c.pcmember, c.dm, "again")
    redis_client.flushdb()
    again = _counts(api)  # read by community now
    assert again[str(extra.id)]["unreadCount"] == 3 and again[str(c.general.id)]["unreadCount"] == 3
    assert again[str(c.dm.id)]["unreadCount"] == 2


def test_raising_many_mirrors_never_lowers_one(app):
    """A cold read mirrors hundreds of last numbers at once (in batches of one script call): each
    mirror ends at the larger of its number and the one raised, with its expiry."""
    from kraken.extensions import redis as redis_client
    from kraken.read_state import own

    ids = [str(ObjectId()) for _ in range(own.RAISE_BATCH * 2 + 7)]
    before = {c: 1000 + i for i, c in enumerate(ids) if i % 3 == 0}  # some mirrors are ahead already
    for c, seq in before.items():
        redis_client.set(own.SEQ + c, seq)
    own.raise_seqs({c: i for i, c in enumerate(ids)})
    assert [int(redis_client.get(own.SEQ + c)) for c in ids] == [before.get(c, i) for i, c in enumerate(ids)]
    assert 0 < redis_client.ttl(own.SEQ + ids[-1]) <= own.SEQ_TTL


def test_cold_readers_racing_first_sends_number_every_message_once(factory, community, app):
    """Readers without the mirror create the counters of conversations without messages (so the next
    read finds them by community or reader); first sends racing them still number 1..n, once each,
    and the counters end naming their community and their reader."""
    from kraken.messages import timeline
    from kraken.messages.models import Message, MessageCounter

    c = community
    fresh = [factory.channel(c.doc, c.admin, f"fresh{i}") for i in range(4)]
    group = factory.dm(c.admin, c.mod)
    ids = [str(ch.id) for ch in fresh]
    seen = []

    def read():
        seen.append(timeline.community_last_seqs(c.doc.id, ids))
        seen.append(timeline.reader_last_seqs(c.mod.id, [str(group.id)]))

    def send(channel):
        for i in range(10):
            factory.send(c.admin, channel, f"{i}")

    def send_dm():
        for i in range(10):
            _dm(c.admin, group, f"{i}")

    race(app, [lambda ch=ch: send(ch) for ch in fresh] + [send_dm], loops=[read] * 3)
    assert seen
    for channel in fresh:
        assert sorted(Message.objects(channel_id=channel.id).scalar("seq")) == list(range(1, 11))
        counter = MessageCounter.objects(id=channel.id).get()
        assert counter.seq == 10 and counter.community_id == c.doc.id
    assert sorted(Message.objects(direct_message_group_id=group.id).scalar("seq")) == list(range(1, 11))
    counter = MessageCounter.objects(id=group.id).get()
    assert counter.seq == 10 and c.mod.id in counter.readers
    assert timeline.community_last_seqs(c.doc.id, ids) == {i: 10 for i in ids}
