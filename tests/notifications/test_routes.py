"""Every notification route and its errors (HF §3.2), and an exact unread count under racing sends
and read-alls."""
from __future__ import annotations

from bson import ObjectId

from kraken.notifications.models import Notification, UserNotificationSettings
from kraken.realtime import background
from tests.factories import dump, race
from tests.notifications.test_notifications import mention


def _seed(factory, c, n=3):
    return [factory.send(c.admin, c.general, spans=mention(c.member, f" {i}")) for i in range(n)]


def test_list_newest_first_with_author_message_and_community(factory, community, login_as):
    c = community
    sent = _seed(factory, c)
    body = login_as(c.member).get("/api/notifications").get_json()
    assert body["total"] == 3 and body["unreadCount"] == 3
    items = body["notifications"]
    assert [i["messageId"] for i in items] == [str(m.id) for m in reversed(sent)]
    first = items[0]
    assert first["author"] == {"id": str(c.admin.id), "username": "admin", "displayName": c.admin.display_name,
                               "avatarUrl": c.admin.avatar_url}
    assert first["message"]["id"] == str(sent[-1].id) and first["message"]["channelId"] == str(c.general.id)
    assert first["message"]["directMessageGroupId"] is None and first["message"]["spans"]
    assert first["channel"] == {"communityId": str(c.doc.id)} and first["communityId"] == str(c.doc.id)
    assert first["type"] == "USER_MENTION" and first["read"] is False and first["dismissed"] is False
    assert first["userId"] == str(c.member.id) and first["parentMessageId"] is None and first["createdAt"]
    assert login_as(c.pcmember).get("/api/notifications").get_json() == {"notifications": [], "total": 0,
                                                                          "unreadCount": 0}


def test_paging_and_unread_only(factory, community, login_as):
    c = community
    sent = _seed(factory, c, 4)
    api = login_as(c.member)
    page = api.get("/api/notifications?limit=2&offset=1").get_json()
    assert [i["messageId"] for i in page["notifications"]] == [str(sent[2].id), str(sent[1].id)]
    assert page["total"] == 2 and page["unreadCount"] == 4
    newest = page["notifications"][0]["id"]
    assert api.post(f"/api/notifications/{newest}/read").status_code == 200
    for value, expected in (("true", 3), ("1", 3), ("false", 4), ("0", 4), ("", 4)):
        body = api.get(f"/api/notifications?unreadOnly={value}").get_json()
        assert len(body["notifications"]) == expected, value
        assert body["unreadCount"] == 3
    for bad in ("limit=0", "limit=101", "offset=-1", "limit=x"):
        response = api.get(f"/api/notifications?{bad}")
        assert response.status_code == 400 and response.get_json()["statusCode"] == 400, bad


def test_read_dismiss_delete_and_their_404s(factory, community, login_as):
    c = community
    _seed(factory, c, 2)
    api, other = login_as(c.member), login_as(c.pcmember)
    first, second = [i["id"] for i in api.get("/api/notifications").get_json()["notifications"]]
    for method, path in (("post", "/read"), ("post", "/dismiss"), ("delete", "")):
        assert getattr(other, method)(f"/api/notifications/{first}{path}").status_code == 404
        assert getattr(api, method)(f"/api/notifications/{ObjectId()}{path}").status_code == 404
        assert getattr(api, method)(f"/api/notifications/not-an-id{path}").status_code == 400
    assert Notification.objects(id=first).get().read is False  # nothing changed
    read = api.post(f"/api/notifications/{first}/read")
    assert read.status_code == 200
    row = read.get_json()
    assert row["id"] == first and row["read"] is True and row["dismissed"] is False and "author" not in row
    assert api.get("/api/notifications/unread-count").get_json() == {"count": 1}
    dismissed = api.post(f"/api/notifications/{second}/dismiss").get_json()
    assert dismissed["dismissed"] is True and dismissed["read"] is False
    assert api.get("/api/notifications/unread-count").get_json() == {"count": 1}  # dismissed still counts
    assert api.delete(f"/api/notifications/{second}").status_code == 204
    assert api.delete(f"/api/notifications/{second}").status_code == 404
    assert api.get("/api/notifications/unread-count").get_json() == {"count": 0}


def test_read_all_counts_the_rows_it_changed(factory, community, login_as):
    c = community
    _seed(factory, c, 3)
    api = login_as(c.member)
    assert api.post("/api/notifications/read-all").get_json() == {"count": 3}
    assert api.post("/api/notifications/read-all").get_json() == {"count": 0}
    assert api.get("/api/notifications/unread-count").get_json() == {"count": 0}


def test_settings_are_created_with_defaults_and_updated_partially(community, login_as):
    c = community
    api = login_as(c.member)
    settings = api.get("/api/notifications/settings").get_json()
    assert {k: settings[k] for k in ("desktopEnabled", "playSound", "soundType", "doNotDisturb", "dndStartTime",
                                     "dndEndTime", "defaultChannelLevel", "dmNotifications")} == {
        "desktopEnabled": True, "playSound": True, "soundType": "default", "doNotDisturb": False,
        "dndStartTime": None, "dndEndTime": None, "defaultChannelLevel": "mentions", "dmNotifications": True}
    assert settings["userId"] == str(c.member.id) and settings["createdAt"] and settings["updatedAt"]
    assert api.get("/api/notifications/settings").get_json()["createdAt"] == settings["createdAt"]
    changed = api.put("/api/notifications/settings", json={"soundType": "dm", "dndStartTime": "22:30"}).get_json()
    assert changed["soundType"] == "dm" and changed["dndStartTime"] == "22:30" and changed["playSound"] is True
    for bad in ({"dndStartTime": "24:00"}, {"dndEndTime": "7:00"}, {"soundType": "loud"},
                {"defaultChannelLevel": "some"}, {"playSound": "maybe"}):
        response = api.put("/api/notifications/settings", json=bad)
        assert response.status_code == 400, bad
    response = api.put("/api/notifications/settings", json={"dndStartTime": "9am"})
    assert "dndStartTime must be in HH:mm format (24-hour)" in str(response.get_json()["message"])
    assert UserNotificationSettings.objects(id=c.member.id).get().dnd_start_time == "22:30"


def test_channel_overrides(community, login_as):
    c = community
    api = login_as(c.member)
    path = f"/api/notifications/channels/{c.general.id}/override"
    empty = api.get(path)
    assert empty.status_code == 200 and empty.data == b""
    put = api.put(path, json={"level": "none"})
    assert put.status_code == 200
    override = put.get_json()
    assert override["level"] == "none" and override["channelId"] == str(c.general.id)
    again = api.put(path, json={"level": "all"}).get_json()
    assert again["id"] == override["id"] and again["level"] == "all"
    assert api.get(path).get_json()["level"] == "all"
    assert api.put(path, json={"level": "loud"}).status_code == 400
    assert api.put(path, json={}).status_code == 400
    before = dump()
    for channel in (ObjectId(), c.private.id, c.elsewhere_general.id):  # unknown, private, another community
        response = api.put(f"/api/notifications/channels/{channel}/override", json={"level": "all"})
        assert response.status_code == 404 and response.get_json()["message"] == "Channel not found"
    assert dump() == before
    assert api.delete(path).status_code == 204 and api.delete(path).status_code == 204
    assert api.get(path).data == b""


def test_debug_routes_are_for_the_owner_only(factory, community, login_as):
    c = community
    for name in ("admin", "member"):
        api = login_as(c.people[name])
        response = api.post("/api/notifications/debug/send-test", json={"type": "DIRECT_MESSAGE"})
        assert response.status_code == 403 and response.get_json()["message"] == "Debug endpoints are admin-only"
        assert api.delete("/api/notifications/debug/clear-all").status_code == 403
    owner = login_as(c.owner)
    assert owner.post("/api/notifications/debug/send-test", json={"type": "BOGUS"}).status_code == 400
    sent = owner.post("/api/notifications/debug/send-test", json={"type": "CHANNEL_MESSAGE", "customMessage": "x"})
    assert sent.status_code == 200
    body = sent.get_json()
    assert body["success"] is True and body["message"] == "Test CHANNEL_MESSAGE notification created"
    assert body["notification"]["userId"] == body["notification"]["authorId"] == str(c.owner.id)
    listed = owner.get("/api/notifications").get_json()["notifications"]
    assert listed[0]["message"] is None and listed[0]["channel"] is None and listed[0]["communityId"] is None
    owner.get("/api/notifications/settings")
    owner.put(f"/api/notifications/channels/{c.general.id}/override", json={"level": "all"})
    _seed(factory, c, 1)
    cleared = owner.delete("/api/notifications/debug/clear-all").get_json()
    assert cleared == {"success": True, "notificationsDeleted": 1, "settingsDeleted": 1, "overridesDeleted": 1,
                       "message": "All notification data cleared"}
    assert login_as(c.member).get("/api/notifications/unread-count").get_json() == {"count": 1}  # others' kept


def test_routes_need_a_token(client):
    for method, path in (("get", "/api/notifications"), ("get", "/api/notifications/unread-count"),
                         ("post", "/api/notifications/read-all"), ("get", "/api/notifications/settings")):
        assert getattr(client, method)(path).status_code == 401


def test_unread_count_is_exact_under_racing_sends_and_read_alls(app, factory, community, login_as):
    c = community
    api = login_as(c.member)
    counts: list[int] = []

    def send(i):
        return lambda: factory.send(c.admin, c.general, spans=mention(c.member, f" {i}"))

    def read_all():
        counts.append(api.post("/api/notifications/read-all").get_json()["count"])

    race(app, [send(i) for i in range(12)], loops=[read_all])
    assert background.wait_soon()
    unread = Notification.objects(user_id=c.member.id, read=False).count()
    assert api.get("/api/notifications/unread-count").get_json() == {"count": unread}
    assert Notification.objects(user_id=c.member.id).count() == 12
    assert sum(counts) + unread == 12  # each row was read once by some read-all, or is still unread
