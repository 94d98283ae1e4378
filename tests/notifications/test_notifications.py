"""In-app notifications (HF §3; docs/decisions/0059-notifications.md): routes and errors, targeting,
settings, do-not-disturb, clean-ups, an exact unread count under racing sends and read-alls."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from bson import ObjectId

from kraken import domain
from kraken.alias_groups.models import AliasGroup, AliasGroupMember
from kraken.channels import service as channels
from kraken.communities import service as communities
from kraken.messages import service as messages
from kraken.messages.models import Message
from kraken.messages.schemas import DirectMessageIn
from kraken.notifications import fanout
from kraken.notifications.models import Notification
from kraken.presence import service as presence
from kraken.realtime import background
from kraken.threads import service as threads
from kraken.threads.schemas import ThreadReplyIn
from tests.factories import race


def rows(user=None, **query) -> list[Notification]:
    if user is not None:
        query["user_id"] = user.id
    return list(Notification.objects(**query))


def who(message) -> dict[str, str]:
    """{recipient username-less id: type} of one message's notifications."""
    return {str(n.user_id): n.type for n in Notification.objects(message_id=message.id)}


def mention(user, text=" hi"):
    return [{"type": "USER_MENTION", "userId": str(user.id)}, {"type": "PLAINTEXT", "text": text}]


def special(kind):
    return [{"type": "SPECIAL_MENTION", "specialKind": kind}, {"type": "PLAINTEXT", "text": " all"}]


@pytest.fixture
def created():
    """The notifications `notification_created` announced (it follows each live `newNotification`)."""
    seen: list = []

    def receiver(notification):
        seen.append(notification)

    domain.notification_created.connect(receiver)
    yield seen
    domain.notification_created.disconnect(receiver)


# --- targeting -----------------------------------------------------------------------------------

def test_user_mention_notifies_the_mentioned_reader_not_the_author(factory, community, created):
    c = community
    message = factory.send(c.admin, c.general, spans=mention(c.member) + mention(c.admin))
    assert who(message) == {str(c.member.id): "USER_MENTION"}
    [n] = created
    assert n.user_id == c.member.id and n.message_id == message.id and n.community_id == c.doc.id
    assert n.author_id == c.admin.id and n.channel_id == c.general.id and not n.read and not n.dismissed


def test_mention_of_a_member_outside_a_private_channel_notifies_nobody(factory, community):
    c = community
    message = factory.send(c.admin, c.private, spans=mention(c.nopc))
    assert who(message) == {}


def test_at_channel_in_a_private_channel_notifies_its_readers_only(factory, community):
    c = community
    message = factory.send(c.admin, c.private, spans=special("channel"))
    assert who(message) == {str(c.pcmember.id): "USER_MENTION"}


def test_at_channel_in_a_public_channel_notifies_every_member_but_the_author(factory, community):
    c = community
    message = factory.send(c.admin, c.general, spans=special("channel"))
    assert set(who(message)) == {str(c.people[n].id) for n in ("mod", "member", "pcmember", "nopc", "target")}


def test_at_here_notifies_only_online_readers(factory, community):
    c = community
    presence.connected(c.member, "sid-member", None)
    presence.connected(c.outsider, "sid-outsider", None)
    try:
        message = factory.send(c.admin, c.general, spans=special("here"))
    finally:
        presence.disconnected(c.member, "sid-member")
        presence.disconnected(c.outsider, "sid-outsider")
    assert who(message) == {str(c.member.id): "USER_MENTION"}


def test_alias_members_outside_the_channel_are_not_notified(factory, community):
    c = community
    group = AliasGroup(name="team", community_id=c.doc.id).save()
    for user in (c.pcmember, c.nopc, c.member):
        AliasGroupMember(alias_group_id=group.id, user_id=user.id, community_id=c.doc.id).save()
    elsewhere = AliasGroup(name="team", community_id=c.elsewhere.id).save()
    AliasGroupMember(alias_group_id=elsewhere.id, user_id=c.pcmember.id, community_id=c.elsewhere.id).save()
    spans = [{"type": "ALIAS_MENTION", "aliasId": str(group.id), "text": "@team"}]
    message = Message(channel_id=c.private.id, author_id=c.admin.id, spans=spans).save()
    assert fanout.fan_out(message) == 1
    assert who(message) == {str(c.pcmember.id): "USER_MENTION"}
    foreign = Message(channel_id=c.general.id, author_id=c.admin.id,
                      spans=[{"type": "ALIAS_MENTION", "aliasId": str(elsewhere.id)}]).save()
    assert fanout.fan_out(foreign) == 0  # another community's group


def test_levels_and_overrides(factory, community, login_as):
    c = community
    general = str(c.general.id)
    member, nopc, mod = login_as(c.member), login_as(c.nopc), login_as(c.mod)
    assert factory.send(c.admin, c.general, "plain") and rows() == []  # default level: mentions
    assert member.put(f"/api/notifications/channels/{general}/override", json={"level": "none"}).status_code == 200
    assert nopc.put("/api/notifications/settings", json={"defaultChannelLevel": "all"}).status_code == 200
    assert mod.put("/api/notifications/settings", json={"defaultChannelLevel": "all"}).status_code == 200
    assert mod.put(f"/api/notifications/channels/{general}/override", json={"level": "mentions"}).status_code == 200
    message = factory.send(c.admin, c.general, spans=mention(c.member) + mention(c.mod))
    assert who(message) == {str(c.mod.id): "USER_MENTION", str(c.nopc.id): "CHANNEL_MESSAGE"}
    plain = factory.send(c.admin, c.general, "plain again")
    assert who(plain) == {str(c.nopc.id): "CHANNEL_MESSAGE"}
    assert member.put(f"/api/notifications/channels/{general}/override", json={"level": "all"}).status_code == 200
    assert set(who(factory.send(c.admin, c.general, "more"))) == {str(c.nopc.id), str(c.member.id)}
    assert member.delete(f"/api/notifications/channels/{general}/override").status_code == 204
    assert set(who(factory.send(c.admin, c.general, "more"))) == {str(c.nopc.id)}


def _dm(author, group, spans=None):
    message = messages.send_direct(author, DirectMessageIn.model_validate(
        {"directMessageGroupId": str(group.id), "spans": spans or [{"type": "PLAINTEXT", "text": "yo"}]}))
    assert background.wait_soon()
    return message


def test_direct_messages_notify_the_other_members_unless_turned_off(community, login_as):
    c = community
    message = _dm(c.admin, c.dm_group, special("channel"))
    assert who(message) == {str(c.member.id): "DIRECT_MESSAGE", str(c.pcmember.id): "DIRECT_MESSAGE"}
    assert login_as(c.member).put("/api/notifications/settings", json={"dmNotifications": False}).status_code == 200
    assert who(_dm(c.admin, c.dm_group)) == {str(c.pcmember.id): "DIRECT_MESSAGE"}


def test_do_not_disturb_stores_rows_without_live_events(factory, community, login_as, created):
    c = community
    api = login_as(c.member)
    assert api.put("/api/notifications/settings", json={"doNotDisturb": True}).status_code == 200
    factory.send(c.admin, c.general, spans=mention(c.member) + mention(c.pcmember))
    assert [n.user_id for n in created] == [c.pcmember.id]  # no newNotification, no push for the member
    assert api.get("/api/notifications/unread-count").get_json() == {"count": 1}
    assert api.put("/api/notifications/settings", json={"doNotDisturb": False, "dndStartTime": "00:00",
                                                         "dndEndTime": "00:00"}).status_code == 200
    factory.send(c.admin, c.general, spans=mention(c.member))
    assert [n.user_id for n in created][-1] == c.member.id  # start == end: no window
    now = datetime.now(timezone.utc)
    window = {"dndStartTime": (now - timedelta(hours=1)).strftime("%H:%M"),  # around now (UTC), overnight
              "dndEndTime": (now + timedelta(hours=1)).strftime("%H:%M")}    # when it wraps at midnight
    settings = api.put("/api/notifications/settings", json=window).get_json()
    assert settings["dndStartTime"] == window["dndStartTime"] and settings["doNotDisturb"] is False
    before = len(created)
    factory.send(c.admin, c.general, spans=mention(c.member))
    assert len(created) == before  # inside the window: stored, not announced
    assert api.get("/api/notifications/unread-count").get_json() == {"count": 3}


def test_dnd_window_overnight():
    def at(hhmm):
        return datetime(2026, 1, 1, int(hhmm[:2]), int(hhmm[3:]))

    s = {"dndStartTime": "22:00", "dndEndTime": "07:00"}
    assert fanout.dnd_active(s, at("23:30")) and fanout.dnd_active(s, at("06:59"))
    assert not fanout.dnd_active(s, at("07:00")) and not fanout.dnd_active(s, at("12:00"))
    assert fanout.dnd_active({"dndStartTime": "09:00", "dndEndTime": "17:00"}, at("09:00"))
    assert not fanout.dnd_active({"dndStartTime": "09:00", "dndEndTime": "17:00"}, at("17:00"))


def test_thread_replies_notify_subscribers_who_can_read(factory, community):
    c = community
    root = factory.send(c.admin, c.private, "root")
    threads.subscribe_user(c.pcmember.id, root)
    threads.subscribe_user(c.nopc.id, root)  # cannot read the private channel
    reply = threads.reply(c.admin, ThreadReplyIn.model_validate(
        {"parentMessageId": str(root.id), "spans": mention(c.pcmember)}))
    assert background.wait_soon()
    [n] = rows(message_id=reply.id)
    assert n.user_id == c.pcmember.id and n.type == "THREAD_REPLY" and n.parent_message_id == root.id


def test_rest_sends_notify_too(community, login_as):
    c = community
    response = login_as(c.admin).post("/api/messages", json={"channelId": str(c.general.id),
                                                             "spans": mention(c.member)})
    assert response.status_code == 201, response.get_json()
    assert background.wait_soon()
    assert [n.type for n in rows(c.member)] == ["USER_MENTION"]


# --- clean-ups ------------------------------------------------------------------------------------

def test_notifications_go_with_their_message_channel_and_community(factory, community, login_as):
    c = community
    one = factory.send(c.admin, c.general, spans=mention(c.member))
    two = factory.send(c.admin, c.victim, spans=mention(c.member))
    three = factory.send(c.admin, c.general, spans=mention(c.member))
    assert len(rows(c.member)) == 3
    messages.delete(c.admin, str(one.id))
    assert {n.message_id for n in rows(c.member)} == {two.id, three.id}
    channels.delete(c.victim)
    assert {n.message_id for n in rows(c.member)} == {three.id}
    communities.delete(c.doc)
    assert rows(c.member) == []


def test_thread_notifications_go_with_the_thread_root(factory, community):
    c = community
    root = factory.send(c.member, c.general, "root")
    threads.subscribe_user(c.member.id, root)
    threads.reply(c.admin, ThreadReplyIn.model_validate({"parentMessageId": str(root.id),
                                                          "spans": [{"type": "PLAINTEXT", "text": "r"}]}))
    assert background.wait_soon()
    assert [n.type for n in rows(c.member)] == ["THREAD_REPLY"]
    messages.delete(c.member, str(root.id))
    assert rows(c.member) == []


def test_leaving_a_private_channel_or_a_dm_group_removes_its_notifications(factory, community, login_as):
    c = community
    factory.send(c.admin, c.private, spans=mention(c.pcmember))
    _dm(c.admin, c.dm_group)
    assert len(rows(c.pcmember)) == 2
    assert login_as(c.pcmember).delete(f"/api/direct-messages/{c.dm_group.id}/members/me").status_code in (200, 204)
    assert [n.channel_id for n in rows(c.pcmember)] == [c.private.id]


def test_plain_messages_of_a_big_community_public_channel_notify_nobody(factory, community, login_as, monkeypatch):
    c = community
    for name in ("nopc", "pcmember"):
        assert login_as(c.people[name]).put("/api/notifications/settings",
                                            json={"defaultChannelLevel": "all"}).status_code == 200
    monkeypatch.setattr(fanout, "CHANNEL_MESSAGE_LIMIT", 3)  # Club has 7 members
    assert who(factory.send(c.admin, c.general, "plain")) == {}
    assert who(factory.send(c.admin, c.private, "plain")) == {str(c.pcmember.id): "CHANNEL_MESSAGE"}
    assert who(factory.send(c.admin, c.general, spans=mention(c.nopc))) == {str(c.nopc.id): "USER_MENTION"}
    monkeypatch.setattr(fanout, "CHANNEL_MESSAGE_LIMIT", 500)
    assert set(who(factory.send(c.admin, c.general, "plain"))) == {str(c.nopc.id), str(c.pcmember.id)}
