"""0009_member_directories on stored data: every community gets its directory and every membership its
name key; a second run writes the same; searches then read them."""
import mongoengine

from kraken import migrations
from kraken.memberships.models import MemberDirectory, Membership


def test_migration_builds_every_directory_and_name_key(community, login_as):
    db = mongoengine.get_db()
    # data as it was before the directories: none, and no name keys
    db.member_directories.delete_many({})
    db.memberships.update_many({}, {"$unset": {"nameKey": ""}})
    db.users.update_one({"_id": community.nopc.id}, {"$set": {"displayName": "Night Owl"}})
    lines: list[str] = []
    migrations.load("0009_member_directories").up(db, lines.append)
    assert lines[-1] == "  member directories: 2/2 communities, 7 members listed"  # Club 6, Elsewhere 1
    written = {d.id: d.text for d in MemberDirectory.objects}
    assert set(written) == {community.id, community.elsewhere.id}
    assert all(m.name_key for m in Membership.objects)
    assert "nopc\x1fnight owl\x1f" in written[community.id]
    again: list[str] = []
    migrations.load("0009_member_directories").up(db, again.append)
    assert again == lines and {d.id: d.text for d in MemberDirectory.objects} == written
    found = login_as(community.member).get(f"/api/membership/community/{community.id}/search?query=owl").get_json()
    assert [m["user"]["username"] for m in found] == ["nopc"]
