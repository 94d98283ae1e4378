"""`GET /api/invite/:code` (kraken-later-endpoints §4): READ_INSTANCE_INVITE; the invite in any state,
or an empty 200 body for an unknown code; `/api/invite/public/:code` keeps its own route."""
from kraken.rbac import INSTANCE_ADMIN


def test_an_invite_is_read_by_code_in_any_state_and_an_unknown_code_is_an_empty_200(community):
    owner = community.api("owner")
    code = community.community_invite.code
    found = owner.get(f"/api/invite/{code}")
    assert found.status_code == 200 and found.is_json
    listed = {i["code"]: i for i in owner.get("/api/invite").get_json()}
    assert found.get_json()["code"] == code and found.get_json()["scope"] == "COMMUNITY"
    assert owner.get(f"/api/invite/{community.instance_invite.code}").get_json() == listed[community.instance_invite.code]
    assert owner.delete(f"/api/invite/{code}").status_code == 200  # disabled: still readable
    assert owner.get(f"/api/invite/{code}").get_json()["disabled"] is True

    unknown = owner.get("/api/invite/doesnotexist")
    assert unknown.status_code == 200 and unknown.data == b"" and not unknown.is_json
    assert owner.get("/api/invite/public").status_code == 200  # a code, not the public route's prefix
    public = owner.get(f"/api/invite/public/{code}")  # the public route is untouched
    assert public.status_code == 200 and set(public.get_json()) == {"code", "valid", "validUntil", "communities"}
    assert owner.get(f"/api/invite/{'x' * 65}").status_code == 404  # longer than any code: no such route


def test_only_holders_of_read_instance_invite_read_invites_by_code(community, factory):
    code = community.community_invite.code
    assert community.api("admin").get(f"/api/invite/{code}").status_code == 403  # a community admin is not enough
    assert community.api(None).get(f"/api/invite/{code}").status_code == 401
    target = factory.api(community.target)  # holds the instance role Instance Admin
    assert community.roles[INSTANCE_ADMIN].name == INSTANCE_ADMIN
    assert target.get(f"/api/invite/{code}").status_code == 200
    assert target.get("/api/invite/unknown-code").status_code == 200
