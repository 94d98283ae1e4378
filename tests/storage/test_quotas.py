"""Storage quotas (HF §12.4, decision 0065): exact usage on upload and delete, refusals, races."""
from __future__ import annotations

import io
import os

from kraken import migrations
from kraken.files.models import File
from kraken.users.models import User
from tests.factories import race
from tests.files.conftest import PNG, assert_nothing_stored, stored_blobs, upload
from tests.storage.conftest import set_quota, settings_row, usage


def png_of(size: int) -> bytes:
    return PNG[:16] + os.urandom(size - 16)


def stored_sum(user) -> int:
    return sum(f.size for f in File.objects(uploaded_by_id=user.id))


def test_a_new_user_gets_the_configured_default_quota_and_no_usage(app, factory, owner):
    user = factory.user("newcomer")
    stored = User.objects.get(id=user.id)
    assert stored.storage_quota_bytes == app.extensions["kraken.settings"].default_storage_quota_bytes == 50 * 2 ** 30
    assert stored.storage_used_bytes == 0


def test_a_new_user_gets_the_instance_settings_default_quota(factory, owner):
    settings_row(defaultStorageQuotaBytes=123_456_789)
    assert User.objects.get(id=factory.user("newcomer").id).storage_quota_bytes == 123_456_789


def test_upload_and_delete_keep_usage_exact(alice, club, login_as):
    api = login_as(alice)
    first = upload(api, png_of(3000), resource_id=club["general"]).get_json()
    second = upload(api, png_of(5000), resource_id=club["general"]).get_json()
    assert usage(alice) == 8000 == stored_sum(alice)
    assert api.delete(f"/api/file-upload/{first['id']}").status_code == 200
    assert usage(alice) == 5000 == stored_sum(alice)
    assert api.delete(f"/api/file-upload/{second['id']}").status_code == 200
    assert usage(alice) == 0


def test_deleting_a_message_frees_its_files(alice, club, login_as):
    api = login_as(alice)
    ids = [upload(api, png_of(1000 + i), resource_id=club["general"]).get_json()["id"] for i in range(2)]
    sent = api.post("/api/messages", json={"channelId": club["general"], "attachments": ids,
                                           "spans": [{"type": "PLAINTEXT", "text": "two files"}]})
    assert sent.status_code == 201, sent.get_json()
    assert usage(alice) == 2001
    assert api.delete(f"/api/messages/{sent.get_json()['id']}").status_code == 204
    assert usage(alice) == 0 and File.objects.count() == 0


def test_an_upload_over_the_quota_is_413_and_changes_nothing(app, alice, club, login_as):
    set_quota(alice, 4000)
    api = login_as(alice)
    assert upload(api, png_of(3000), resource_id=club["general"]).status_code == 201
    response = upload(api, png_of(1001), resource_id=club["general"])
    assert response.status_code == 413
    assert response.get_json()["code"] == "STORAGE_QUOTA_EXCEEDED"
    assert "3000 of 4000" in response.get_json()["message"]
    assert usage(alice) == 3000 and File.objects.count() == 1 and len(stored_blobs(app)) == 1
    assert upload(api, png_of(1000), resource_id=club["general"]).status_code == 201  # exactly the rest fits
    assert usage(alice) == 4000


def test_ten_parallel_uploads_at_the_edge_exactly_the_ones_that_fit_succeed(app, alice, club, factory):
    size, fit = 2000, 4
    set_quota(alice, 1000 + fit * size)
    User.objects(id=alice.id).update_one(set__storage_used_bytes=0)
    token, statuses = factory.token(alice), []

    def one():
        response = app.test_client().post(
            "/api/file-upload", headers={"Authorization": f"Bearer {token}"}, content_type="multipart/form-data",
            data={"file": (io.BytesIO(png_of(size)), "a.png", "image/png"), "resourceType": "MESSAGE_ATTACHMENT",
                  "resourceId": club["general"]})
        statuses.append(response.status_code)

    race(app, [one] * 10)
    assert sorted(statuses) == [201] * fit + [413] * (10 - fit)
    assert usage(alice) == stored_sum(alice) == fit * size
    assert File.objects.count() == fit and len(stored_blobs(app)) == fit


def test_two_deletes_of_one_file_release_its_bytes_once(app, alice, club, factory, login_as):
    api = login_as(alice)
    keep = upload(api, png_of(700), resource_id=club["general"]).get_json()["id"]
    gone = upload(api, png_of(900), resource_id=club["general"]).get_json()["id"]
    token, statuses = factory.token(alice), []

    def delete():
        statuses.append(app.test_client().delete(f"/api/file-upload/{gone}",
                                                 headers={"Authorization": f"Bearer {token}"}).status_code)

    race(app, [delete] * 4)
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 404}
    assert usage(alice) == 700 == stored_sum(alice)
    assert File.objects.get(id=keep)


def test_the_instance_max_file_size_is_enforced_while_streaming(app, alice, club, login_as):
    settings_row(maxFileSizeBytes=4096)
    api = login_as(alice)
    assert upload(api, png_of(4096), resource_id=club["general"]).status_code == 201
    response = upload(api, png_of(4097), resource_id=club["general"])
    assert response.status_code == 413 and response.get_json()["code"] == "PAYLOAD_TOO_LARGE"
    assert "4096" in response.get_json()["message"]
    assert usage(alice) == 4096 and File.objects.count() == 1 and len(stored_blobs(app)) == 1


class CountingStream(io.BytesIO):
    """A request body that counts what the server read of it."""

    def __init__(self, head: bytes, body_size: int, tail: bytes):
        super().__init__(head + b"\0" * body_size + tail)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        chunk = super().readline(size)
        self.read_bytes += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:
        n = super().readinto(buffer)
        self.read_bytes += n
        return n


# no Content-Length: a chunked upload, refused while it is read (with one, before anything is read)
CHUNKED = {"wsgi.input_terminated": True, "CONTENT_LENGTH": ""}


def test_a_stream_past_the_limit_is_refused_before_it_is_read_and_leaves_nothing(app, alice, club, factory):
    settings_row(maxFileSizeBytes=4096)
    boundary = "kraken-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"resourceType\"\r\n\r\nMESSAGE_ATTACHMENT\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"resourceId\"\r\n\r\n{club['general']}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + PNG[:16]
    body = CountingStream(head, 32 * 2 ** 20, f"\r\n--{boundary}--\r\n".encode())
    response = app.test_client().post(
        "/api/file-upload", input_stream=body, content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Authorization": f"Bearer {factory.token(alice)}"},
        environ_overrides=CHUNKED)
    assert response.status_code == 413, response.get_json()
    assert body.read_bytes < 2 * 2 ** 20  # of 32 MiB: the limit plus the multipart allowance, not the file
    assert usage(alice) == 0
    assert_nothing_stored(app)


def test_an_upload_past_the_remaining_quota_is_refused_while_streaming(app, alice, club, factory):
    set_quota(alice, 10_000)
    boundary = "kraken-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"resourceType\"\r\n\r\nMESSAGE_ATTACHMENT\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"resourceId\"\r\n\r\n{club['general']}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + PNG[:16]
    body = CountingStream(head, 32 * 2 ** 20, f"\r\n--{boundary}--\r\n".encode())
    response = app.test_client().post(
        "/api/file-upload", input_stream=body, content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Authorization": f"Bearer {factory.token(alice)}"}, environ_overrides=CHUNKED)
    assert response.status_code == 413 and response.get_json()["code"] == "STORAGE_QUOTA_EXCEEDED"
    assert body.read_bytes < 2 * 2 ** 20
    assert usage(alice) == 0
    assert_nothing_stored(app)


def test_recalculate_rebuilds_usage_from_the_files_and_is_idempotent(alice, club, keeper, login_as):
    api = login_as(alice)
    for size in (1234, 4321):
        upload(api, png_of(size), resource_id=club["general"])
    User.objects(id=alice.id).update_one(set__storage_used_bytes=999_999)  # drifted
    admin = login_as(keeper)
    for _ in range(2):
        response = admin.post(f"/api/storage/users/{alice.id}/recalculate")
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["usedBytes"] == 5555 == usage(alice)
        assert response.get_json()["fileCount"] == 2


def test_migration_gives_existing_users_the_default_quota_and_their_usage(app, alice, club, login_as):
    upload(login_as(alice), png_of(2500), resource_id=club["general"])
    User.objects(id=alice.id).update_one(unset__storage_quota_bytes=1, unset__storage_used_bytes=1)
    script = migrations.load("0014_storage_usage")
    for _ in range(2):  # idempotent
        script.up(User._get_db(), lambda line: None)
        stored = User.objects.get(id=alice.id)
        assert stored.storage_quota_bytes == 50 * 2 ** 30 and stored.storage_used_bytes == 2500


def test_a_user_without_a_counter_still_uploads_and_is_counted(alice, club, login_as):
    User.objects(id=alice.id).update_one(unset__storage_used_bytes=1, unset__storage_quota_bytes=1)
    assert upload(login_as(alice), png_of(800), resource_id=club["general"]).status_code == 201
    assert usage(alice) == 800
