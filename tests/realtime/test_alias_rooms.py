"""Alias-group rooms (kraken-head-features §6): a member's sockets are in the room `<aliasGroupId>` after
`subscribeAll`, join it when the group is created with them or they are added (one by one or by a
replacement), and leave it when removed, replaced out, the group deleted, or they leave the
community; on every process. Nothing is ever sent to the room, so the tests publish probes to it
(tests/realtime/test_server_rooms.py: through Redis, like every event) and check who hears them."""
from kraken.realtime import names
from kraken.realtime.rooms import alias_room
from tests.realtime.test_server_rooms import connect, deaf, hears



def _create(api, community_id, name, *members):
    response = api.post(f"/api/alias-groups/community/{community_id}",
                        json={"name": name, "memberIds": [str(m.id) for m in members]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _only_probes(*clients):
    """Nothing but probes (and the presence of the others connecting) reached these sockets: the
    feature sends no event (HF §6)."""
    for client in clients:
        assert set(client.events) <= {"probe", names.USER_ONLINE, names.USER_OFFLINE}, dict(client.events)


def test_members_sockets_follow_create_add_remove_replace_and_delete_on_every_process(
        live, live_b, sockets, community):
    admin = community.api("admin")
    member_a = connect(sockets, live.url, community.tokens["member"])
    member_b = connect(sockets, live_b.url, community.tokens["member"])
    mod = connect(sockets, live_b.url, community.tokens["mod"])
    nopc = connect(sockets, live.url, community.tokens["nopc"])

    gid = _create(admin, community.id, "oncall", community.member)
    room = alias_room(gid)
    assert hears(member_a, room) and hears(member_b, room)
    assert deaf(mod, room) and deaf(nopc, room, within=0.1)

    assert admin.post(f"/api/alias-groups/{gid}/members", json={"userId": str(community.mod.id)}).status_code == 204
    assert hears(mod, room)
    assert admin.delete(f"/api/alias-groups/{gid}/members/{community.member.id}").status_code == 204
    assert deaf(member_a, room) and deaf(member_b, room, within=0.1)
    assert hears(mod, room)

    # a replacement: mod stays, nopc comes in, member stays out
    response = admin.put(f"/api/alias-groups/{gid}/members",
                         json={"memberIds": [str(community.nopc.id), str(community.mod.id), str(community.nopc.id)]})
    assert response.status_code == 204
    assert hears(nopc, room) and hears(mod, room) and deaf(member_a, room)
    assert admin.put(f"/api/alias-groups/{gid}/members", json={"memberIds": [str(community.member.id)]}).status_code == 204
    assert hears(member_b, room) and deaf(nopc, room) and deaf(mod, room, within=0.1)

    assert admin.delete(f"/api/alias-groups/{gid}").status_code == 204
    assert deaf(member_a, room) and deaf(member_b, room, within=0.1)
    _only_probes(member_a, member_b, mod, nopc)


def test_subscribe_all_joins_the_users_groups(live, live_b, sockets, community):
    admin = community.api("admin")
    gid = _create(admin, community.id, "oncall", community.member)
    other = _create(admin, community.id, "night", community.mod)
    member = connect(sockets, live_b.url, community.tokens["member"])
    assert hears(member, alias_room(gid))
    assert deaf(member, alias_room(other))
    _only_probes(member)


def test_leaving_the_community_leaves_its_group_rooms(live, live_b, sockets, community):
    admin = community.api("admin")
    gid = _create(admin, community.id, "oncall", community.member, community.mod)
    member = connect(sockets, live.url, community.tokens["member"])
    mod = connect(sockets, live_b.url, community.tokens["mod"])
    assert hears(member, alias_room(gid)) and hears(mod, alias_room(gid))
    assert community.api("member").delete(f"/api/membership/leave/{community.id}").status_code == 204
    assert deaf(member, alias_room(gid))
    assert admin.delete(f"/api/membership/community/{community.id}/user/{community.mod.id}").status_code == 204
    assert deaf(mod, alias_room(gid))


def test_a_deleted_community_empties_its_group_rooms(live, sockets, community):
    gid = _create(community.api("admin"), community.id, "oncall", community.member)
    member = connect(sockets, live.url, community.tokens["member"])
    assert hears(member, alias_room(gid))
    assert community.api("admin").delete(f"/api/community/{community.id}").status_code == 204
    assert member.wait_for("communityDeleted")
    assert deaf(member, alias_room(gid))
