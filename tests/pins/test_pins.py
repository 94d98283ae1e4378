"""Pins (kraken-later-endpoints §12, docs/decisions/0055-pins.md): pin, unpin, the pin list, the
message's fields, the moderation log, errors, the per-channel cap under concurrency, and the events."""
from __future__ import annotations

import pytest
from bson import ObjectId

from kraken.config import load_settings
from kraken.errors import KrakenError
from kraken.moderation.models import ModerationLog
from kraken.pins import service as pins
from kraken.pins.models import PinBoard
from kraken.messages.models import Message
from tests.factories import race


def pin_url(message) -> str:
    return f"/api/moderation/pin/{message.id}"


def listed(api, channel) -> list[str]:
    response = api.get(f"/api/moderation/pins/{channel.id}")
    assert response.status_code == 200, response.get_json()
    return [m["id"] for m in response.get_json()]


def test_pin_sets_the_fields_lists_it_with_its_author_and_logs_it(community, factory, login_as):
    message = factory.send(community.member, community.general, "keep this")
    mod = login_as(community.mod)
    response = mod.post(pin_url(message), json={"reason": "useful"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"success": True, "message": "Message pinned successfully"}
    member = login_as(community.member)
    got = member.get(f"/api/messages/{message.id}").get_json()
    assert got["pinned"] is True and got["pinnedBy"] == str(community.mod.id) and got["pinnedAt"].endswith("Z")
    history = member.get(f"/api/messages/channel/{community.general.id}").get_json()["messages"]
    assert [(m["pinned"], m["pinnedAt"]) for m in history if m["id"] == str(message.id)] == [(True, got["pinnedAt"])]
    items = member.get(f"/api/moderation/pins/{community.general.id}").get_json()
    assert [m["id"] for m in items] == [str(message.id)]
    assert items[0]["author"]["id"] == str(community.member.id) and items[0]["author"]["username"] == "member"
    assert "email" not in items[0]["author"] and items[0]["spans"][0]["text"] == "keep this"
    assert items[0]["pinnedAt"] == got["pinnedAt"] and items[0]["attachments"] == []
    log = ModerationLog.objects(target_message_id=message.id).get()
    assert (log.action, log.moderator_id, log.reason, log.community_id) == (
        "PIN_MESSAGE", community.mod.id, "useful", community.id)

    response = mod.delete(pin_url(message))
    assert response.status_code == 200 and response.get_json()["success"] is True
    got = member.get(f"/api/messages/{message.id}").get_json()
    assert (got["pinned"], got["pinnedAt"], got["pinnedBy"]) == (False, None, None)
    history = member.get(f"/api/messages/channel/{community.general.id}").get_json()["messages"]
    assert [m["pinned"] for m in history if m["id"] == str(message.id)] == [False]
    assert listed(member, community.general) == []
    assert [e.action for e in ModerationLog.objects(target_message_id=message.id).order_by("created_at")] == [
        "PIN_MESSAGE", "UNPIN_MESSAGE"]


def test_pins_are_listed_oldest_pin_first_and_only_of_their_channel(community, factory, login_as):
    first, second, third = (factory.send(community.member, community.general, t) for t in ("a", "b", "c"))
    other = factory.send(community.member, community.victim, "elsewhere")
    mod = login_as(community.mod)
    for message in (third, first, other, second):
        assert mod.post(pin_url(message)).status_code == 200
    assert listed(mod, community.general) == [str(third.id), str(first.id), str(second.id)]
    assert listed(mod, community.victim) == [str(other.id)]


@pytest.mark.parametrize("who, target, status, code", [
    ("mod", "again", 409, "ALREADY_PINNED"),
    ("member", "general", 403, None),           # no PIN_MESSAGE
    ("nopc", "private", 404, "NOT_FOUND"),      # a private channel they cannot see
    ("outsider", "general", 403, "NOT_A_MEMBER"),
    ("admin", "dm", 403, "NOT_A_CHANNEL_MESSAGE"),
    ("mod", "dm", 404, "NOT_FOUND"),            # not in that conversation
    ("mod", "missing", 404, "NOT_FOUND"),
    ("mod", "malformed", 400, None),
])
def test_pin_refusals_change_nothing(community, factory, login_as, who, target, status, code):
    community.seed_messages()
    pinned = factory.send(community.member, community.general, "pinned")
    assert login_as(community.admin).post(pin_url(pinned)).status_code == 200
    ids = {"again": str(pinned.id), "general": str(community.messages["general"].id),
           "private": str(community.messages["private"].id), "dm": str(community.messages["dm"].id),
           "missing": str(ObjectId()), "malformed": "nope"}
    before = (ModerationLog.objects.count(), list(PinBoard.objects.as_pymongo()))
    response = login_as(community.people[who]).post(f"/api/moderation/pin/{ids[target]}")
    assert response.status_code == status, response.get_json()
    if code:
        assert response.get_json()["code"] == code
    assert (ModerationLog.objects.count(), list(PinBoard.objects.as_pymongo())) == before


def test_unpin_refusals(community, factory, login_as):
    community.seed_messages()
    message = community.messages["general"]
    mod = login_as(community.mod)
    response = mod.delete(pin_url(message))
    assert response.status_code == 409 and response.get_json()["code"] == "NOT_PINNED"
    assert mod.post(pin_url(message)).status_code == 200
    assert login_as(community.member).delete(pin_url(message)).status_code == 403
    assert login_as(community.admin).delete(f"/api/moderation/pin/{community.messages['dm'].id}").status_code == 403
    assert mod.delete(pin_url(message), json={"reason": 5}).status_code == 400
    assert listed(mod, community.general) == [str(message.id)]
    assert mod.delete(pin_url(message)).status_code == 200


def test_the_pin_list_of_a_private_channel_is_for_who_may_enter_it(community, login_as):
    assert login_as(community.pcmember).get(f"/api/moderation/pins/{community.private.id}").status_code == 200
    for who in ("nopc", "member", "mod"):
        response = login_as(community.people[who]).get(f"/api/moderation/pins/{community.private.id}")
        assert response.status_code == 404, who
    assert login_as(community.outsider).get(f"/api/moderation/pins/{community.general.id}").status_code == 403


def test_a_deleted_message_leaves_the_pin_list_and_frees_its_place(community, factory, login_as):
    keep, gone = factory.send(community.member, community.general, "keep"), factory.send(
        community.member, community.general, "gone")
    mod = login_as(community.mod)
    for message in (keep, gone):
        assert mod.post(pin_url(message)).status_code == 200
    assert login_as(community.member).delete(f"/api/messages/{gone.id}").status_code == 204
    assert listed(mod, community.general) == [str(keep.id)]
    board = PinBoard.objects(id=community.general.id).get()
    assert (board.ids, board.n) == ([keep.id], 1)


def test_the_cap_holds_when_two_pins_race_for_the_last_place(app, community, factory):
    cap = app.extensions["kraken.settings"].pins_per_channel
    assert cap == 50
    messages = [factory.message(community.general, community.member, f"m{i}") for i in range(cap + 1)]
    for message in messages[:cap - 1]:
        pins.pin(community.mod, str(message.id))
    outcomes = []

    def pin(message):
        try:
            pins.pin(community.admin, str(message.id))
            outcomes.append("pinned")
        except KrakenError as exc:
            outcomes.append(exc.code)

    race(app, [lambda: pin(messages[-2]), lambda: pin(messages[-1])])
    assert sorted(outcomes) == ["PIN_LIMIT_REACHED", "pinned"]
    board = PinBoard.objects(id=community.general.id).get()
    assert board.n == len(board.ids) == cap
    assert Message.objects(channel_id=community.general.id, pinned=True).count() == cap
    with pytest.raises(KrakenError) as refused:
        pins.pin(community.admin, str(messages[0].id))
    assert refused.value.code == "ALREADY_PINNED"


def test_the_cap_answers_a_clear_400(app, community, factory, login_as, monkeypatch):
    # the configured cap of this app, lowered for the test: the service reads it per request
    settings = app.extensions["kraken.settings"]
    monkeypatch.setitem(app.extensions, "kraken.settings", settings.model_copy(update={"pins_per_channel": 2}))
    messages = [factory.send(community.member, community.general, f"m{i}") for i in range(3)]
    mod = login_as(community.mod)
    assert [mod.post(pin_url(m)).status_code for m in messages[:2]] == [200, 200]
    response = mod.post(pin_url(messages[2]))
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "PIN_LIMIT_REACHED" and "maximum of 2 pinned messages" in str(body["message"])
    assert mod.delete(pin_url(messages[0])).status_code == 200
    assert mod.post(pin_url(messages[2])).status_code == 200


def test_the_cap_is_a_setting():
    assert load_settings({"KRAKEN_PINS_PER_CHANNEL": "7"}).pins_per_channel == 7
    assert load_settings({}).pins_per_channel == 50


def test_pins_and_unpins_racing_leave_the_message_as_its_board_says(app, community, factory):
    message = factory.message(community.general, community.member, "contested")
    for _round in range(6):
        def attempt(fn, who):
            try:
                fn(who, str(message.id))
            except KrakenError:
                pass

        race(app, [lambda: attempt(pins.pin, community.mod), lambda: attempt(pins.unpin, community.admin),
                   lambda: attempt(pins.pin, community.admin)])
        board = PinBoard.objects(id=community.general.id).get()
        stored = Message.objects(id=message.id).get()
        assert board.n == len(board.ids) and len(set(board.ids)) == len(board.ids) <= 1
        assert bool(stored.pinned) == (message.id in board.ids)
        if stored.pinned:
            entry = board.meta_[f"m{message.id}"]
            assert (stored.pinned_by, stored.pinned_at.replace(tzinfo=None)) == (
                entry["by"], entry["at"].replace(tzinfo=None))


def test_pin_and_unpin_are_announced_to_the_channel_room(live, sockets, community, factory, login_as):
    message = factory.send(community.member, community.general, "announce")
    secret = factory.send(community.pcmember, community.private, "secret")
    member = sockets(live.url, community.tokens["member"])
    pcmember = sockets(live.url, community.tokens["pcmember"])
    for client in (member, pcmember):
        client.call("joinAll", str(community.id))
    mod = login_as(community.mod)
    assert mod.post(pin_url(message)).status_code == 200
    pinned = member.wait_for("messagePinned")
    stored = login_as(community.member).get(f"/api/messages/{message.id}").get_json()
    assert pinned == {"messageId": str(message.id), "channelId": str(community.general.id),
                      "pinnedBy": str(community.mod.id), "pinnedAt": stored["pinnedAt"]}
    assert mod.delete(pin_url(message)).status_code == 200
    assert member.wait_for("messageUnpinned") == {"messageId": str(message.id),
                                                  "channelId": str(community.general.id),
                                                  "unpinnedBy": str(community.mod.id)}
    assert login_as(community.admin).post(pin_url(secret)).status_code == 200
    assert pcmember.wait_for("messagePinned", lambda p: p["messageId"] == str(secret.id))
    # member is not in the private channel's room: what reached pcmember after it did not reach member
    assert pcmember.wait_for("messageUnpinned")
    assert not member.received("messagePinned", lambda p: p["messageId"] == str(secret.id))
