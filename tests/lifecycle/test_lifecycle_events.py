"""Live lifecycle events (kraken-head-features §7, kraken-later-endpoints §3.1): each reaches the rooms
the spec names with its payload, and nobody else (a member of another community, a member who may not
see a private channel); a refused write and community creation announce nothing. REST goes through the
test process: every event reached the live server through Redis. Absence is checked without sleeping:
a probe published after the write arrives after anything the write published (`Cast.drained`)."""
import requests

from kraken.realtime import names
from kraken.realtime.rooms import community_room
from tests.lifecycle.conftest import connect, drained, hears

LIFECYCLE = (names.COMMUNITY_UPDATED, names.ROLE_CREATED, names.ROLE_UPDATED, names.ROLE_DELETED,
             names.ROLE_ASSIGNED, names.ROLE_UNASSIGNED, names.USER_PROFILE_UPDATED, names.CHANNEL_CREATED,
             names.CHANNEL_UPDATED, names.MEMBER_ADDED_TO_COMMUNITY)


def heard_nothing(client) -> bool:
    return not any(client.received(event) for event in LIFECYCLE)


def test_community_updated_reaches_the_communitys_members_only(live, sockets, cast):
    s = cast.online(sockets, live.url)
    club = str(cast.club.id)
    response = cast.rest["alice"].patch(f"/api/community/{club}", json={"name": "Club Two", "description": "new"})
    assert response.status_code == 200
    expected = {"communityId": club, "name": "Club Two", "description": "new", "avatar": None, "banner": None}
    for name in ("alice", "mod", "bob", "root"):
        assert s[name].wait_for(names.COMMUNITY_UPDATED) == expected
    assert cast.drained("eve") and heard_nothing(s["eve"])
    # refused (bob lacks UPDATE_COMMUNITY; a taken name): nothing more
    assert cast.rest["bob"].patch(f"/api/community/{club}", json={"name": "Mine"}).status_code == 403
    assert cast.rest["alice"].patch(f"/api/community/{club}", json={"name": "Elsewhere"}).status_code == 409
    assert cast.drained() and len(s["bob"].received(names.COMMUNITY_UPDATED)) == 1


def test_role_lifecycle_is_announced_to_the_community_with_its_payloads(live, sockets, cast):
    s = cast.online(sockets, live.url)
    club, bob = str(cast.club.id), str(cast.users["bob"].id)
    alice = cast.rest["alice"]
    created = alice.post(f"/api/roles/community/{club}", json={"name": "Helpers", "actions": ["READ_MEMBER"]})
    assert created.status_code == 201
    role = created.get_json()["id"]
    assert s["bob"].wait_for(names.ROLE_CREATED) == {"communityId": club, "roleId": role, "roleName": "Helpers"}
    assert alice.put(f"/api/roles/community/{club}/{role}", json={"name": "Aides"}).status_code == 200
    assert s["bob"].wait_for(names.ROLE_UPDATED) == {"communityId": club, "roleId": role, "roleName": "Aides"}
    assert alice.post(f"/api/roles/community/{club}/assign", json={"userId": bob, "roleId": role}).status_code == 204
    assert s["mod"].wait_for(names.ROLE_ASSIGNED) == {"communityId": club, "userId": bob, "roleId": role,
                                                      "roleName": "Aides"}
    assert alice.delete(f"/api/roles/community/{club}/users/{bob}/roles/{role}").status_code == 204
    assert s["mod"].wait_for(names.ROLE_UNASSIGNED) == {"communityId": club, "userId": bob, "roleId": role}
    assert alice.delete(f"/api/roles/community/{club}/{role}").status_code == 204
    assert s["alice"].wait_for(names.ROLE_DELETED) == {"communityId": club, "roleId": role}
    for name in ("alice", "mod", "bob", "root"):
        for event in (names.ROLE_CREATED, names.ROLE_UPDATED, names.ROLE_ASSIGNED, names.ROLE_UNASSIGNED,
                      names.ROLE_DELETED):
            assert s[name].wait_for(event), (name, event)
    assert cast.drained("eve") and heard_nothing(s["eve"])


def test_refused_role_writes_announce_nothing(live, sockets, cast):
    s = cast.online(sockets, live.url, "alice", "bob")
    club, bob = str(cast.club.id), str(cast.users["bob"].id)
    roles = cast.rest["alice"].get(f"/api/roles/community/{club}").get_json()["roles"]
    member_role = next(r["id"] for r in roles if r["name"] == "Member")
    refused = [
        cast.rest["bob"].post(f"/api/roles/community/{club}", json={"name": "Mine", "actions": ["READ_MEMBER"]}),
        cast.rest["alice"].post(f"/api/roles/community/{club}", json={"name": "Member", "actions": ["READ_MEMBER"]}),
        cast.rest["alice"].put(f"/api/roles/community/{club}/{member_role}", json={"name": "Renamed"}),
        cast.rest["alice"].delete(f"/api/roles/community/{club}/{member_role}"),
        cast.rest["alice"].post(f"/api/roles/community/{club}/assign", json={"userId": bob, "roleId": member_role}),
        cast.rest["bob"].delete(f"/api/roles/community/{club}/users/{bob}/roles/{member_role}"),
    ]
    assert [r.status_code for r in refused] == [403, 409, 400, 400, 409, 403]
    assert cast.drained("alice", "bob") and heard_nothing(s["alice"]) and heard_nothing(s["bob"])


def test_creating_a_community_announces_no_channel_or_role(live, sockets, cast):
    s = cast.online(sockets, live.url, "alice")
    assert cast.rest["alice"].post("/api/community", json={"name": "Fresh"}).status_code == 201
    assert cast.drained("alice") and heard_nothing(s["alice"])


def test_profile_update_reaches_the_user_and_each_of_their_communities_once(live, sockets, cast, factory):
    factory.member(cast.users["bob"], cast.elsewhere)  # bob: Club and Elsewhere
    stranger = factory.user("stranger")
    s = cast.online(sockets, live.url)
    lonely = connect(sockets, live.url, factory.token(stranger))
    response = cast.rest["bob"].patch("/api/users/profile", json={"displayName": "Bobby", "bio": "hi",
                                                                  "status": "away"})
    assert response.status_code == 200
    expected = {"userId": str(cast.users["bob"].id), "displayName": "Bobby", "avatarUrl": None, "bannerUrl": None,
                "bio": "hi"}
    for name in ("bob", "alice", "eve", "mod", "root"):
        assert s[name].wait_for(names.USER_PROFILE_UPDATED) == expected, name
    assert drained(lonely, stranger) and not lonely.received(names.USER_PROFILE_UPDATED)
    # one emit to all the rooms: bob's socket (in his room and two community rooms) got it once
    assert cast.drained() and len(s["bob"].received(names.USER_PROFILE_UPDATED)) == 1
    # refused (a bio over 500 characters): nothing more
    assert cast.rest["bob"].patch("/api/users/profile", json={"bio": "x" * 501}).status_code == 400
    assert cast.drained() and all(len(c.received(names.USER_PROFILE_UPDATED)) == 1 for c in s.values())


def test_a_private_channel_is_announced_only_to_those_who_may_see_it(live, sockets, cast):
    s = cast.online(sockets, live.url)
    club = str(cast.club.id)
    created = cast.rest["alice"].post("/api/channels", json={"name": "staff", "communityId": club, "type": "TEXT",
                                                             "isPrivate": True})
    assert created.status_code == 201
    channel = created.get_json()
    # the creator (its member), the owner and the moderator (UPDATE_CHANNEL: sees it in lists) hear of it
    for name in ("alice", "root", "mod"):
        assert s[name].wait_for(names.CHANNEL_CREATED) == {"communityId": club, "channel": channel}, name
    assert cast.rest["alice"].patch(f"/api/channels/{channel['id']}", json={"name": "staff-2"}).status_code == 200
    for name in ("alice", "root", "mod"):
        updated = s[name].wait_for(names.CHANNEL_UPDATED)
        assert updated["communityId"] == club and updated["channel"]["name"] == "staff-2", name
    # bob (a member without the channel) and eve (another community) hear of neither
    assert cast.drained("bob", "eve")
    for name in ("bob", "eve"):
        assert not s[name].received(names.CHANNEL_CREATED) and not s[name].received(names.CHANNEL_UPDATED)
    # the moderator sees it but may not enter it: he heard the announcements, not its room
    assert len(s["mod"].received(names.CHANNEL_CREATED)) == 1


def test_a_public_channel_is_announced_to_the_community_and_a_refused_one_to_nobody(live, sockets, cast):
    s = cast.online(sockets, live.url)
    club = str(cast.club.id)
    assert cast.rest["bob"].post("/api/channels", json={"name": "mine", "communityId": club,
                                                        "type": "TEXT"}).status_code == 403
    assert cast.rest["alice"].post("/api/channels", json={"name": "general", "communityId": club,
                                                          "type": "TEXT"}).status_code == 409
    created = cast.rest["alice"].post("/api/channels", json={"name": "random", "communityId": club, "type": "TEXT"})
    channel = created.get_json()
    assert set(channel) >= {"id", "name", "communityId", "createdAt", "type", "isPrivate"}
    for name in ("alice", "mod", "bob", "root"):
        assert s[name].wait_for(names.CHANNEL_CREATED) == {"communityId": club, "channel": channel}
        assert len(s[name].received(names.CHANNEL_CREATED)) == 1  # the refused ones announced nothing
    assert cast.drained("eve") and heard_nothing(s["eve"])


def test_an_event_caused_on_one_process_reaches_a_client_of_the_other(live, live_b, sockets, cast):
    bob = connect(sockets, live_b.url, cast.tokens["bob"])
    assert hears(bob, community_room(cast.club.id))
    club = str(cast.club.id)
    response = requests.post(f"{live.url}/api/roles/community/{club}", timeout=10,
                             headers={"Authorization": f"Bearer {cast.tokens['alice']}"},
                             json={"name": "Crossing", "actions": ["READ_MEMBER"]})
    assert response.status_code == 201
    heard = bob.wait_for(names.ROLE_CREATED)
    assert heard == {"communityId": club, "roleId": response.json()["id"], "roleName": "Crossing"}
    response = requests.patch(f"{live.url}/api/community/{club}", timeout=10,
                              headers={"Authorization": f"Bearer {cast.tokens['alice']}"},
                              json={"description": "from A"})
    assert response.status_code == 200
    assert bob.wait_for(names.COMMUNITY_UPDATED)["description"] == "from A"


def test_renames_to_a_taken_name_are_409_and_announce_nothing(live, sockets, cast, factory):
    """On the default store a unique clash of an update is not MongoDB's code 11000 (kraken.common.unique):
    these were 500s before."""
    club = str(cast.club.id)
    factory.channel(cast.club, cast.users["alice"], "taken")
    random = factory.channel(cast.club, cast.users["alice"], "random")
    helper = factory.role(cast.club, "Helper")
    factory.role(cast.club, "Taken")
    s = cast.online(sockets, live.url, "alice")
    assert cast.rest["alice"].patch(f"/api/channels/{random.id}", json={"name": "taken"}).status_code == 409
    assert cast.rest["alice"].put(f"/api/roles/community/{club}/{helper.id}", json={"name": "Taken"}).status_code == 409
    assert cast.rest["alice"].patch(f"/api/community/{club}", json={"name": "elsewhere"}).status_code == 409
    assert cast.drained("alice") and heard_nothing(s["alice"])
