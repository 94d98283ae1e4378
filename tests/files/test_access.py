"""Who may upload and read which file: channels (private ones too), communities, avatars, deletion."""
import pytest
from bson import ObjectId

from kraken.communities.models import Community
from kraken.files import service
from kraken.files.models import File
from kraken.users.models import User
from tests.files.conftest import JPEG, PNG, assert_nothing_stored, stored_blobs, upload


def attached(file_id: str) -> None:
    """Mark an upload as attached to a message (what sending the message does)."""
    service.attach([file_id], ObjectId())


def test_private_channel_attachment_is_invisible_outside_the_channel(alice, bob, club, login_as):
    admin, member = login_as(alice), login_as(bob)
    fid = upload(admin, resource_id=club["secret"]).get_json()["id"]
    attached(fid)
    for path in (f"/api/file/{fid}", f"/api/file/{fid}/metadata"):
        response = member.get(path)
        assert response.status_code == 404 and response.get_json()["message"] == "File not found"
    assert admin.post("/api/channel-membership", json={"userId": str(bob.id),
                                                       "channelId": club["secret"]}).status_code == 201
    response = member.get(f"/api/file/{fid}")
    assert response.status_code == 200 and response.data == PNG


def test_community_outsider_cannot_read_attachments(alice, carol, club, login_as):
    outsider = login_as(carol)
    public_file = upload(login_as(alice), resource_id=club["general"]).get_json()["id"]
    private_file = upload(login_as(alice), resource_id=club["secret"]).get_json()["id"]
    attached(public_file)
    attached(private_file)
    assert outsider.get(f"/api/file/{public_file}").status_code == 403
    assert outsider.get(f"/api/file/{private_file}").status_code == 404
    assert outsider.get(f"/api/file/{ObjectId()}").status_code == 404


def test_members_read_attachments_of_public_channels_once_attached(alice, bob, club, login_as):
    fid = upload(login_as(alice), resource_id=club["general"]).get_json()["id"]
    assert login_as(bob).get(f"/api/file/{fid}").status_code == 404  # not sent yet: the uploader's only
    attached(fid)
    assert login_as(bob).get(f"/api/file/{fid}").data == PNG


def test_instance_owner_reads_everything(owner, alice, club, login_as):
    fid = upload(login_as(alice), resource_id=club["secret"]).get_json()["id"]
    attached(fid)
    assert login_as(owner).get(f"/api/file/{fid}").status_code == 200


def test_uploading_an_attachment_needs_create_attachment_in_the_channel(alice, bob, carol, club, login_as, app):
    assert upload(login_as(carol), resource_id=club["general"]).status_code == 403   # not a member
    assert upload(login_as(bob), resource_id=club["secret"]).status_code == 404      # private, not in it
    assert_nothing_stored(app)
    assert upload(login_as(bob), resource_id=club["general"]).status_code == 201


def test_user_avatar_upload_sets_the_profile_and_replaces_the_old_one(app, alice, bob, login_as):
    api = login_as(alice)
    first = upload(api, PNG, "me.png", "image/png", "USER_AVATAR")
    assert first.status_code == 201, first.get_json()
    first = first.get_json()
    assert first["resourceId"] == str(alice.id) and first["resourceType"] == "USER_AVATAR"
    assert api.get("/api/users/profile").get_json()["avatarUrl"] == first["url"]
    assert login_as(bob).get(first["url"]).data == PNG  # avatars are public to signed-in users

    second = upload(api, JPEG, "me.jpg", "image/jpeg", "USER_AVATAR", alice.id).get_json()
    assert api.get("/api/users/profile").get_json()["avatarUrl"] == second["url"]
    assert File.objects(id=first["id"]).count() == 0 and api.get(first["url"]).status_code == 404
    assert len(stored_blobs(app)) == 1 and stored_blobs(app)[0].read_bytes() == JPEG


def test_nobody_uploads_someone_elses_avatar(alice, bob, login_as, app):
    response = upload(login_as(alice), PNG, "x.png", "image/png", "USER_AVATAR", bob.id)
    assert response.status_code == 403
    assert_nothing_stored(app)
    assert User.objects.get(id=bob.id).avatar_url is None


@pytest.mark.parametrize("resource_type, field", [("COMMUNITY_AVATAR", "avatar"), ("COMMUNITY_BANNER", "banner")])
def test_community_images_need_update_community(app, alice, bob, carol, club, login_as, resource_type, field):
    assert upload(login_as(bob), PNG, "c.png", "image/png", resource_type, club["id"]).status_code == 403
    assert_nothing_stored(app)
    first = upload(login_as(alice), PNG, "c.png", "image/png", resource_type, club["id"]).get_json()
    assert first["resourceId"] == club["id"]
    assert login_as(alice).get(f"/api/community/{club['id']}").get_json()[field] == first["url"]
    assert login_as(bob).get(first["url"]).data == PNG        # members see it
    assert login_as(carol).get(first["url"]).status_code == 403  # outsiders do not
    second = upload(login_as(alice), JPEG, "c.jpg", "image/jpeg", resource_type, club["id"]).get_json()
    assert getattr(Community.objects.get(id=club["id"]), field) == second["url"]
    assert File.objects(id=first["id"]).count() == 0 and len(stored_blobs(app)) == 1


def test_community_image_of_an_unknown_community_is_404(alice, login_as, app):
    assert upload(login_as(alice), PNG, "c.png", "image/png", "COMMUNITY_AVATAR", ObjectId()).status_code == 404
    assert upload(login_as(alice), PNG, "c.png", "image/png", "COMMUNITY_AVATAR").status_code == 400
    assert_nothing_stored(app)


def test_only_the_uploader_deletes_a_file(app, alice, bob, carol, club, login_as):
    fid = upload(login_as(alice), resource_id=club["general"]).get_json()["id"]
    attached(fid)
    forbidden = login_as(bob).delete(f"/api/file-upload/{fid}")
    assert forbidden.status_code == 403 and forbidden.get_json()["message"] == "You can only delete your own files"
    assert login_as(carol).delete(f"/api/file-upload/{fid}").status_code == 403  # not even a member
    assert len(stored_blobs(app)) == 1

    deleted = login_as(alice).delete(f"/api/file-upload/{fid}")
    assert deleted.status_code == 200 and deleted.get_json()["id"] == fid
    assert_nothing_stored(app)
    assert login_as(alice).get(f"/api/file/{fid}").status_code == 404
    assert login_as(alice).delete(f"/api/file-upload/{fid}").status_code == 404
    assert login_as(alice).delete("/api/file-upload/nope").status_code == 400


def test_deleting_the_current_avatar_clears_the_profile(alice, login_as, app):
    api = login_as(alice)
    fid = upload(api, PNG, "me.png", "image/png", "USER_AVATAR").get_json()["id"]
    assert api.delete(f"/api/file-upload/{fid}").status_code == 200
    assert api.get("/api/users/profile").get_json()["avatarUrl"] is None
    assert_nothing_stored(app)
