"""Friends and user blocks (kraken-head-features §5; docs/decisions/0058-friends-and-blocks.md): the eight
friends routes and the four block routes, their shapes and errors, what a block refuses beyond the
reference (requests both ways, accepting an old request, new 1:1 conversations, being found in search),
and the pair's one row under racing requests."""
import pytest
from mongoengine import NotUniqueError

from kraken.friends.models import ACCEPTED, Friendship, UserBlock, pair_key
from tests.factories import race

PUBLIC_USER = {"id", "username", "role", "avatarUrl", "bannerUrl", "lastSeen", "displayName", "bio", "status"}


@pytest.fixture
def people(factory):
    ann, ben, cid = (factory.user(n) for n in ("ann", "ben", "cid"))
    return {"ann": ann, "ben": ben, "cid": cid,
            "api": {n: factory.api(u) for n, u in (("ann", ann), ("ben", ben), ("cid", cid))}}


def error(response):
    return response.status_code, response.get_json()["message"]


def test_a_request_accepted_makes_friends_listed_on_both_sides(people):
    ann, ben, api = people["ann"], people["ben"], people["api"]
    sent = api["ann"].post(f"/api/friends/request/{ben.id}")
    assert sent.status_code == 201
    row = sent.get_json()
    assert row == {"id": row["id"], "userAId": str(ann.id), "userBId": str(ben.id), "status": "PENDING",
                   "createdAt": row["createdAt"]}
    assert api["ann"].get(f"/api/friends/status/{ben.id}").get_json() == {
        "status": "PENDING", "friendshipId": row["id"], "direction": "sent"}
    assert api["ben"].get(f"/api/friends/status/{ann.id}").get_json()["direction"] == "received"
    mine, theirs = api["ann"].get("/api/friends/requests").get_json(), api["ben"].get("/api/friends/requests").get_json()
    assert [r["id"] for r in mine["sent"]] == [row["id"]] and mine["received"] == []
    assert [r["id"] for r in theirs["received"]] == [row["id"]] and theirs["sent"] == []
    item = theirs["received"][0]
    assert set(item["userA"]) >= PUBLIC_USER and "email" not in item["userA"]
    assert item["userA"]["id"] == str(ann.id) and item["userB"]["id"] == str(ben.id)

    accepted = api["ben"].post(f"/api/friends/accept/{row['id']}")
    assert accepted.status_code == 201 and accepted.get_json()["status"] == "ACCEPTED"
    ann_friends = api["ann"].get("/api/friends").get_json()
    assert [(f["id"], f["friendshipId"]) for f in ann_friends] == [(str(ben.id), row["id"])]
    assert set(ann_friends[0]) >= PUBLIC_USER | {"friendshipId"} and "email" not in ann_friends[0]
    assert [f["id"] for f in api["ben"].get("/api/friends").get_json()] == [str(ann.id)]
    assert api["ann"].get(f"/api/friends/status/{ben.id}").get_json() == {
        "status": "ACCEPTED", "friendshipId": row["id"], "direction": None}
    assert api["ann"].get("/api/friends/requests").get_json() == {"sent": [], "received": []}

    assert api["cid"].delete(f"/api/friends/{row['id']}").status_code == 403  # not theirs
    assert api["ben"].delete(f"/api/friends/{row['id']}").get_json() == {"success": True}
    assert api["ann"].get("/api/friends").get_json() == []
    assert api["ann"].get(f"/api/friends/status/{ben.id}").get_json() == {
        "status": None, "friendshipId": None, "direction": None}


def test_request_errors_as_the_spec_says(people, factory):
    ann, ben, api = people["ann"], people["ben"], people["api"]
    assert error(api["ann"].post(f"/api/friends/request/{ann.id}")) == (403, "Cannot send friend request to yourself")
    assert error(api["ann"].post("/api/friends/request/0123456789abcdef01234567")) == (404, "User not found")
    assert api["ann"].post("/api/friends/request/not-an-id").status_code == 400
    assert api["ann"].post(f"/api/friends/request/{ben.id}").status_code == 201
    assert error(api["ann"].post(f"/api/friends/request/{ben.id}")) == (409, "Friend request already sent")
    # ben asking back accepts ann's request
    back = api["ben"].post(f"/api/friends/request/{ann.id}")
    assert back.status_code == 201 and back.get_json()["status"] == "ACCEPTED"
    assert back.get_json()["userAId"] == str(ann.id)
    assert error(api["ann"].post(f"/api/friends/request/{ben.id}")) == (409, "Already friends with this user")
    assert Friendship.objects.count() == 1


def test_accept_decline_cancel_belong_to_one_side_each_and_only_while_pending(people):
    ann, ben, api = people["ann"], people["ben"], people["api"]
    first = api["ann"].post(f"/api/friends/request/{ben.id}").get_json()["id"]
    missing = "0123456789abcdef01234567"
    assert error(api["ben"].post(f"/api/friends/accept/{missing}")) == (404, "Friend request not found")
    assert error(api["ann"].post(f"/api/friends/accept/{first}")) == (403, "Cannot accept this friend request")
    assert error(api["ann"].delete(f"/api/friends/decline/{first}")) == (403, "Cannot decline this friend request")
    assert error(api["ben"].delete(f"/api/friends/cancel/{first}")) == (403, "Cannot cancel this friend request")
    assert error(api["ann"].delete(f"/api/friends/{first}")) == (409, "Not friends with this user")
    assert error(api["ann"].delete(f"/api/friends/{missing}")) == (404, "Friendship not found")
    assert api["ben"].delete(f"/api/friends/decline/{first}").get_json() == {"success": True}
    assert Friendship.objects.count() == 0
    second = api["ann"].post(f"/api/friends/request/{ben.id}").get_json()["id"]
    assert api["ann"].delete(f"/api/friends/cancel/{second}").get_json() == {"success": True}
    third = api["ann"].post(f"/api/friends/request/{ben.id}").get_json()["id"]
    assert api["ben"].post(f"/api/friends/accept/{third}").status_code == 201
    assert error(api["ben"].post(f"/api/friends/accept/{third}")) == (409, "Friend request is not pending")
    assert error(api["ben"].delete(f"/api/friends/decline/{third}")) == (409, "Friend request is not pending")
    assert error(api["ann"].delete(f"/api/friends/cancel/{third}")) == (409, "Friend request is not pending")


def test_blocks_are_idempotent_listed_and_one_directional(people):
    ann, ben, cid, api = people["ann"], people["ben"], people["cid"], people["api"]
    assert error(api["ann"].post(f"/api/users/block/{ann.id}")) == (403, "Cannot block yourself")
    assert error(api["ann"].post("/api/users/block/0123456789abcdef01234567")) == (404, "User to block not found")
    for _ in range(2):
        response = api["ann"].post(f"/api/users/block/{ben.id}")
        assert response.status_code == 201 and response.get_json() == {"success": True}
    assert UserBlock.objects.count() == 1
    blocked = api["ann"].get("/api/users/blocked").get_json()
    assert [u["id"] for u in blocked] == [str(ben.id)] and set(blocked[0]) >= PUBLIC_USER
    assert "email" not in blocked[0]
    assert api["ann"].get(f"/api/users/blocked/{ben.id}").get_json() == {"blocked": True}
    assert api["ben"].get(f"/api/users/blocked/{ann.id}").get_json() == {"blocked": False}  # the caller's blocks only
    assert api["ann"].get(f"/api/users/blocked/{cid.id}").get_json() == {"blocked": False}
    for _ in range(2):
        assert api["ann"].delete(f"/api/users/block/{ben.id}").get_json() == {"success": True}
    assert api["ann"].get("/api/users/blocked").get_json() == []
    assert UserBlock.objects.count() == 0


@pytest.mark.parametrize("blocker", ["ann", "ben"])
def test_a_block_either_way_refuses_friend_requests_and_accepting_an_old_one(people, blocker):
    ann, ben, api = people["ann"], people["ben"], people["api"]
    old = api["ann"].post(f"/api/friends/request/{ben.id}").get_json()["id"]
    other = ben if blocker == "ann" else ann
    assert api[blocker].post(f"/api/users/block/{other.id}").status_code == 201
    refused = (403, "Cannot send friend request to this user")
    assert error(api["ann"].post(f"/api/friends/request/{ben.id}")) == refused
    assert error(api["ben"].post(f"/api/friends/request/{ann.id}")) == refused
    status, message = error(api["ben"].post(f"/api/friends/accept/{old}"))
    assert status == 403 and "blocked" in message
    assert Friendship.objects(id=old).get().status == "PENDING"
    # unblocked, the old request can be accepted again
    assert api[blocker].delete(f"/api/users/block/{other.id}").status_code == 200
    assert api["ben"].post(f"/api/friends/accept/{old}").status_code == 201


def test_a_block_keeps_an_existing_friendship(people):
    ann, ben, api = people["ann"], people["ben"], people["api"]
    row = api["ann"].post(f"/api/friends/request/{ben.id}").get_json()["id"]
    api["ben"].post(f"/api/friends/accept/{row}")
    assert api["ann"].post(f"/api/users/block/{ben.id}").status_code == 201
    assert [f["id"] for f in api["ann"].get("/api/friends").get_json()] == [str(ben.id)]


def test_a_blocker_disappears_from_the_blocked_users_searches_only(people):
    ann, ben, cid, api = people["ann"], people["ben"], people["cid"], people["api"]
    assert api["ann"].post(f"/api/users/block/{ben.id}").status_code == 201

    def found(who, q):
        response = api[who].get(f"/api/users/search?q={q}")
        assert response.status_code == 200
        return {u["username"] for u in response.get_json()}

    assert "ann" not in found("ben", "ann") and "ann" not in found("ben", "")
    assert "ann" in found("cid", "ann")          # others still find her
    assert "ben" in found("ann", "ben")          # the blocker still finds whom she blocked
    assert found("ben", "") >= {"ben", "cid"}
    # by username ann < ben < cid: with limit 1 the hidden first row does not leave ben an empty page
    assert api["ben"].get("/api/users/search?q=&limit=1").get_json()[0]["username"] == "ben"
    assert api["ann"].delete(f"/api/users/block/{ben.id}").status_code == 200
    assert "ann" in found("ben", "ann")


@pytest.mark.parametrize("blocker", ["ann", "ben"])
def test_a_block_refuses_a_new_one_to_one_conversation_but_keeps_an_existing_one(people, factory, blocker):
    ann, ben, cid, api = people["ann"], people["ben"], people["cid"], people["api"]
    other = ben if blocker == "ann" else ann
    assert api[blocker].post(f"/api/users/block/{other.id}").status_code == 201
    for who, target in (("ann", ben), ("ben", ann)):
        status, message = error(api[who].post("/api/direct-messages", json={"userIds": [str(target.id)]}))
        assert status == 403 and "blocked" in message
    assert api["ann"].post("/api/direct-messages", json={"userIds": [str(cid.id)]}).status_code == 201
    # an existing conversation stays, and opening it again returns it
    api[blocker].delete(f"/api/users/block/{other.id}")
    existing = api["ann"].post("/api/direct-messages", json={"userIds": [str(ben.id)]}).get_json()["id"]
    api[blocker].post(f"/api/users/block/{other.id}")
    again = api["ann"].post("/api/direct-messages", json={"userIds": [str(ben.id)]})
    assert again.status_code == 201 and again.get_json()["id"] == existing
    assert [g["id"] for g in api["ben"].get("/api/direct-messages").get_json()] == [existing]


def test_the_pair_is_unique_in_the_database_whichever_direction(people):
    ann, ben = people["ann"], people["ben"]
    Friendship(pair_key=pair_key(ann.id, ben.id), user_a_id=ann.id, user_b_id=ben.id).save(force_insert=True)
    with pytest.raises(NotUniqueError):
        Friendship(pair_key=pair_key(ben.id, ann.id), user_a_id=ben.id, user_b_id=ann.id).save(force_insert=True)


def test_crossing_requests_end_with_one_accepted_friendship(app, factory):
    for round_ in range(6):
        one, other = factory.user(f"cross{round_}a"), factory.user(f"cross{round_}b")
        apis = {one.id: factory.api(one), other.id: factory.api(other)}
        statuses = []
        race(app, [lambda a=one, b=other: statuses.append(apis[a.id].post(f"/api/friends/request/{b.id}")),
                   lambda a=other, b=one: statuses.append(apis[a.id].post(f"/api/friends/request/{b.id}"))])
        assert sorted(r.status_code for r in statuses) == [201, 201], [r.get_json() for r in statuses]
        rows = list(Friendship.objects(pair_key=pair_key(one.id, other.id)))
        assert len(rows) == 1 and rows[0].status == ACCEPTED
        assert Friendship.objects(user_a_id=one.id).count() + Friendship.objects(user_a_id=other.id).count() == 1


def test_a_repeated_request_racing_itself_is_stored_once(app, factory):
    for round_ in range(6):
        one, other = factory.user(f"twice{round_}a"), factory.user(f"twice{round_}b")
        clients = [factory.api(one), factory.api(one)]
        statuses = []
        race(app, [lambda c=c: statuses.append(c.post(f"/api/friends/request/{other.id}")) for c in clients])
        assert sorted(r.status_code for r in statuses) == [201, 409]
        assert [r.get_json()["message"] for r in statuses if r.status_code == 409] == ["Friend request already sent"]
        assert Friendship.objects(pair_key=pair_key(one.id, other.id)).count() == 1


def test_a_blocker_disappears_from_the_blocked_users_community_scoped_search_too(people, factory):
    ann, ben, cid, api = people["ann"], people["ben"], people["cid"], people["api"]
    club = factory.community(cid, "Club")
    factory.member(ann, club)
    factory.member(ben, club)
    assert api["ann"].post(f"/api/users/block/{ben.id}").status_code == 201
    seen = {u["username"] for u in api["ben"].get(f"/api/users/search?q=&communityId={club.id}").get_json()}
    assert seen == {"ben", "cid"}
    seen = {u["username"] for u in api["cid"].get(f"/api/users/search?q=&communityId={club.id}").get_json()}
    assert seen == {"ann", "ben", "cid"}
