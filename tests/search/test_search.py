"""Message search (kraken-later-endpoints §12, docs/decisions/0049-search.md): folding, stemming, AND,
limit and order, deletes and edits, thread replies, who sees what, an index kept by concurrent senders."""
import threading

from kraken.messages import service as messages
from kraken.messages.models import Message
from kraken.messages.schemas import DirectMessageIn, MessageEditIn
from kraken.search import index, service
from kraken.search.words import terms
from kraken.threads import service as threads
from kraken.threads.schemas import ThreadReplyIn
from tests.factories import race


def _search(api, kind, resource_id, q, **params):
    response = api.get(f"/api/messages/search/{kind}/{resource_id}", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _ids(items) -> list[str]:
    return [item["id"] for item in items]


def test_words_fold_case_and_accents_and_stem_english():
    assert terms("Café CAFÉ cafe") == ["cafe"]
    assert terms("Naïve RUNNING runs, ran!") == ["naiv", "run", "ran"]
    assert terms("Straße İstanbul ﬁle") == ["strass", "istanbul", "file"]  # strasse, stemmed
    assert terms("  !!! ") == []


def test_channel_search_folds_stems_ands_limits_and_orders_newest_first(factory, community, login_as):
    c = community
    first = factory.send(c.member, c.general, "The CAFÉ is running late")
    second = factory.send(c.admin, c.general, "a cafe opens; nobody runs")
    factory.send(c.admin, c.general, "nothing to see")
    api = login_as(c.member)
    found = _search(api, "channel", c.general.id, "cafe")
    assert _ids(found) == [str(second.id), str(first.id)]  # newest first
    assert found[0]["spans"][0]["text"] == "a cafe opens; nobody runs" and found[0]["channelId"] == str(c.general.id)
    assert set(found[0]) >= {"id", "authorId", "spans", "attachments", "reactions", "sentAt", "editedAt",
                             "parentMessageId", "replyCount"}
    assert _ids(_search(api, "channel", c.general.id, "Run")) == [str(second.id), str(first.id)]
    assert _ids(_search(api, "channel", c.general.id, "café LATE")) == [str(first.id)]  # every word
    assert _search(api, "channel", c.general.id, "cafe absent") == []
    assert _ids(_search(api, "channel", c.general.id, "cafes", limit=1)) == [str(second.id)]
    assert _search(api, "channel", c.general.id, "") == []
    assert _search(api, "channel", c.general.id, " ?! ") == []
    for bad in ("0", "101", "ten", "1.5"):
        response = api.get(f"/api/messages/search/channel/{c.general.id}", query_string={"q": "cafe", "limit": bad})
        assert response.status_code == 400 and response.is_json, bad


def test_deleted_messages_are_excluded_and_edits_change_what_matches(factory, community, login_as):
    c = community
    gone = factory.send(c.member, c.general, "apple crumble")
    kept = factory.send(c.member, c.general, "apple pie")
    api = login_as(c.member)
    assert set(_ids(_search(api, "channel", c.general.id, "apple"))) == {str(gone.id), str(kept.id)}
    assert api.delete(f"/api/messages/{gone.id}").status_code == 204
    assert _ids(_search(api, "channel", c.general.id, "apple")) == [str(kept.id)]
    response = api.patch(f"/api/messages/{kept.id}", json={"spans": [{"type": "PLAINTEXT", "text": "banana split"}]})
    assert response.status_code == 200
    assert _search(api, "channel", c.general.id, "apple") == []  # the old word's ref is verified away
    edited = _search(api, "channel", c.general.id, "bananas")
    assert _ids(edited) == [str(kept.id)] and edited[0]["editedAt"] is not None
    assert _ids(_search(api, "community", c.id, "split")) == [str(kept.id)]


def test_thread_replies_are_found_in_their_channel_and_community(factory, community, login_as):
    c = community
    parent = factory.send(c.member, c.general, "a question")
    reply = threads.reply(c.admin, ThreadReplyIn.model_validate(
        {"parentMessageId": str(parent.id), "spans": [{"type": "PLAINTEXT", "text": "the answer is zebra"}]}))
    api = login_as(c.member)
    found = _search(api, "channel", c.general.id, "zebras")
    assert _ids(found) == [str(reply.id)] and found[0]["parentMessageId"] == str(parent.id)
    assert _ids(_search(api, "community", c.id, "zebra")) == [str(reply.id)]


def test_community_search_names_channels_and_hides_private_ones(factory, community, login_as):
    c = community
    public = factory.send(c.member, c.victim, "launch plan")
    private = factory.send(c.pcmember, c.private, "launch secret plan")
    reply = threads.reply(c.pcmember, ThreadReplyIn.model_validate(
        {"parentMessageId": str(private.id), "spans": [{"type": "PLAINTEXT", "text": "launch at noon"}]}))
    elsewhere = factory.send(c.outsider, c.elsewhere_general, "launch elsewhere")
    member = _search(login_as(c.member), "community", c.id, "launch")
    assert _ids(member) == [str(public.id)] and member[0]["channelName"] == "victim"
    insider = _search(login_as(c.pcmember), "community", c.id, "launch")
    assert _ids(insider) == [str(reply.id), str(private.id), str(public.id)]
    assert [item["channelName"] for item in insider] == ["secret", "secret", "victim"]
    assert str(elsewhere.id) not in _ids(insider)
    assert login_as(c.member).get(f"/api/messages/search/channel/{c.private.id}?q=launch").status_code == 404
    assert login_as(c.outsider).get(f"/api/messages/search/community/{c.id}?q=launch").status_code == 403


def test_group_search_is_for_members_only(factory, community, login_as):
    c = community
    sent = messages.send_direct(c.member, DirectMessageIn.model_validate(
        {"directMessageGroupId": str(c.dm_group.id), "spans": [{"type": "PLAINTEXT", "text": "Dinner at eight"}]}))
    factory.send(c.member, c.general, "dinner in public")
    assert _ids(_search(login_as(c.admin), "group", c.dm_group.id, "DINNERS")) == [str(sent.id)]
    for stranger in ("outsider", "mod"):
        response = login_as(c.people[stranger]).get(f"/api/messages/search/group/{c.dm_group.id}?q=dinner")
        assert response.status_code == 404


def test_a_message_stored_without_its_mark_is_found_after_the_sweep(factory, community, login_as):
    """Stored, but the process died before marking it (Message.save sends no event): the sweep finds
    its conversation behind its counter and the next search indexes it."""
    c = community
    lost = factory.message(c.general, c.member, "orphaned words")
    api = login_as(c.member)
    assert _search(api, "channel", c.general.id, "orphaned") == []
    assert service.sweep() >= 1
    assert _ids(_search(api, "channel", c.general.id, "orphaned")) == [str(lost.id)]


def test_concurrent_senders_and_indexers_find_every_message_exactly_once(app, factory, community, login_as):
    """Four threads send 20 messages each while four others catch the channel up at the same time, and a
    message is indexed twice on purpose: every message comes back once."""
    c = community
    sent: list[str] = []

    def sender(n: int) -> None:
        for i in range(20):
            sent.append(str(factory.send(c.member, c.general, f"racing word{n}x{i}").id))

    race(app, [lambda n=n: sender(n) for n in range(4)],
         loops=[lambda: service.catch_up_containers([c.general.id], wait=1.0)] * 4)
    doc = Message._get_collection().find_one({"_id": Message.objects(id=sent[0]).get().id})
    index.add(Message._get_collection().database, index.postings([doc], service.community_of))  # a duplicate
    api = login_as(c.member)
    found = _ids(_search(api, "channel", c.general.id, "racing", limit=100))
    assert sorted(found) == sorted(sent) and len(found) == 80
    assert sorted(_ids(_search(api, "community", c.id, "race", limit=100))) == sorted(sent)
    assert _ids(_search(api, "channel", c.general.id, "word2x7")) == [sent_id for sent_id in sent
                                                                       if Message.objects(id=sent_id).get()
                                                                       .spans[0]["text"].endswith("word2x7")]


def test_edit_service_indexes_new_words_only(factory, community):
    c = community
    message = factory.send(c.member, c.general, "kiwi")
    service.catch_up_containers([c.general.id])
    db = Message._get_collection().database
    before = index.count(db, c.general.id, "kiwi")
    messages.edit(c.member, str(message.id), MessageEditIn.model_validate(
        {"spans": [{"type": "PLAINTEXT", "text": "kiwi mango"}]}))
    assert index.count(db, c.general.id, "kiwi") == before and index.count(db, c.general.id, "mango") == 1


def test_the_background_round_indexes_marked_conversations_without_a_search(factory, community):
    c = community
    message = factory.send(c.member, c.general, "quokka sighting")
    service.index_step()  # what the task runs (it may have run already in this process: same result)
    db = Message._get_collection().database
    assert index.count(db, c.general.id, "quokka") == 1 and index.count(db, c.id, "quokka") == 1
    assert db[index.PROGRESS].find_one({"_id": c.general.id})["seq"] == message.seq
    assert not service.redis.hgetall(f"kraken:search:dirty:{c.general.id}")  # the mark is gone


_CHILD = """
import sys, time
from tests.conftest import make_settings
from kraken.app import create_app
from kraken.messages import service as messages
from kraken.messages.schemas import MessageIn
from kraken.search import service
from kraken.users.models import User

mongodb_url, redis_url, user_id, channel_id = sys.argv[1:5]
app = create_app(make_settings(mongodb_url=mongodb_url, redis_url=redis_url))
with app.app_context():
    author = User.objects(id=user_id).get()
    print("ready", flush=True)
    sys.stdin.readline()  # both processes start together
    for i in range(30):
        messages.send(author, MessageIn.model_validate(
            {"channelId": channel_id, "spans": [{"type": "PLAINTEXT", "text": f"twoproc child{i}"}]}))
        service.index_step()  # this process's indexing round, racing the other's
    print("sent", flush=True)
"""


def test_two_processes_sending_and_indexing_at_once_find_every_message_once(app, factory, community, login_as,
                                                                            settings):
    """A second process sends 30 messages and runs indexing rounds while this one sends 30 and runs its
    own: every message comes back exactly once, from the channel and the community scope."""
    import subprocess  # noqa: PLC0415 - this test only
    import sys  # noqa: PLC0415
    c = community
    child = subprocess.Popen([sys.executable, "-c", _CHILD, settings.mongodb_url, settings.redis_url,
                              str(c.admin.id), str(c.general.id)], cwd=str(__import__("pathlib").Path(__file__)
                                                                         .resolve().parents[2]),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready", child.stderr.read()[-2000:]
    child.stdin.write("go\n")
    child.stdin.flush()
    mine = []
    for i in range(30):
        mine.append(str(factory.send(c.member, c.general, f"twoproc parent{i}").id))
        service.index_step()
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0 and "sent" in out, err[-2000:]
    theirs = [str(m.id) for m in Message.objects(channel_id=c.general.id, author_id=c.admin.id)]
    assert len(theirs) == 30
    api = login_as(c.member)
    found = _ids(_search(api, "channel", c.general.id, "twoproc", limit=100))
    assert len(found) == 60 and sorted(found) == sorted(mine + theirs)
    assert sorted(_ids(_search(api, "community", c.id, "twoproc", limit=100))) == sorted(mine + theirs)
    child_words = _ids(_search(api, "channel", c.general.id, "child17"))
    assert len(child_words) == 1


def test_a_search_waits_for_a_catch_up_another_process_is_running(app, factory, community, login_as):
    """Another process holds the conversation's lock (it is indexing it): a search finds the mark still
    there and waits for that catch-up instead of answering without the message just sent."""
    c = community
    lock = f"kraken:search:lock:{c.general.id}"
    service.redis.set(lock, "other-process", ex=30)
    sent = factory.send(c.member, c.general, "wombat burrow")
    api = login_as(c.member)
    answer: list = []
    searcher = threading.Thread(target=lambda: answer.append(_search(api, "channel", c.general.id, "wombat")))
    searcher.start()
    searcher.join(0.5)
    assert searcher.is_alive() and not answer  # waiting for the lock
    db = Message._get_collection().database
    index.catch_up(db, c.general.id, service.community_of, 100, 0.0, 600.0)  # the other process's work
    service.redis.delete(lock)
    searcher.join(10)
    assert answer and _ids(answer[0]) == [str(sent.id)]
