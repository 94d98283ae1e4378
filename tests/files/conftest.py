"""Fixtures for the files tests: people, a community with a private channel, upload helpers."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from flask import Flask

from kraken.files.models import File
from kraken.files.storage import S3Storage
from tests.live import SeaweedS3

STORAGE = "kraken.files.storage"  # where create_app's storage is kept (kraken.files.storage.get_storage)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + os.urandom(2000)
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(500)
PDF = b"%PDF-1.7\n" + os.urandom(300)


def multipart(content: bytes, filename: str, mime: str, resource_type: str | None, resource_id=None) -> dict:
    data = {"file": (io.BytesIO(content), filename, mime)}
    if resource_type is not None:
        data["resourceType"] = resource_type
    if resource_id is not None:
        data["resourceId"] = str(resource_id)
    return data


def upload(api, content: bytes = PNG, filename: str = "a.png", mime: str = "image/png",
           resource_type: str | None = "MESSAGE_ATTACHMENT", resource_id=None):
    return api.post("/api/file-upload", data=multipart(content, filename, mime, resource_type, resource_id),
                    content_type="multipart/form-data")


class StoredObject:
    """An object of the S3 bucket, read and removed like a stored file's Path."""

    def __init__(self, storage: S3Storage, key: str):
        self.storage, self.key = storage, key

    def read_bytes(self) -> bytes:
        return b"".join(self.storage.open_range(self.key, 0, self.storage.size(self.key)))

    def unlink(self) -> None:
        self.storage.delete(self.key)

    def __lt__(self, other: "StoredObject") -> bool:
        return self.key < other.key


def stored_blobs(app: Flask) -> list:
    """Every stored file: under the app's upload directory (the temp folder included: it must be empty
    too), or every object of the bucket and no multipart upload left (the S3 backend)."""
    storage = app.extensions.get(STORAGE)
    if isinstance(storage, S3Storage):
        storage._ensure_bucket()
        assert not storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads")
        listed = storage.client.list_objects_v2(Bucket=storage.bucket).get("Contents", [])
        return sorted(StoredObject(storage, o["Key"]) for o in listed)
    root = app.extensions["kraken.settings"].resolved_upload_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_nothing_stored(app: Flask) -> None:
    assert File.objects.count() == 0
    assert stored_blobs(app) == []


def wipe_uploads(app: Flask) -> None:
    for blob in stored_blobs(app):
        blob.unlink()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = SeaweedS3(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["local", "s3"], autouse=True)
def storage_backend(request, app):
    """Every files test runs on both storages: the local disk, then an S3 bucket (SeaweedFS's gateway):
    access checks, ranges, limits and clean-ups must not depend on where the bytes are."""
    saved = app.extensions.pop(STORAGE, None)
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        app.extensions[STORAGE] = S3Storage("kraken-files-tests", endpoint=server.endpoint,
                                            access_key=server.ACCESS_KEY, secret_key=server.SECRET_KEY)
    yield request.param
    app.extensions.pop(STORAGE, None)
    if saved is not None:
        app.extensions[STORAGE] = saved


@pytest.fixture(autouse=True)
def empty_upload_dir(app, storage_backend):
    """Each test starts with no stored bytes, like it starts with an empty database."""
    wipe_uploads(app)
    yield


@pytest.fixture
def club(alice, bob, login_as):
    """Alice's community `Club` with Bob as a plain member; returns ids of it and its channels."""
    api = login_as(alice)
    response = api.post("/api/community", json={"name": "Club"})
    assert response.status_code == 201, response.get_json()
    cid = response.get_json()["id"]
    assert api.post("/api/membership", json={"userId": str(bob.id), "communityId": cid}).status_code == 201
    channels = {c["name"]: c["id"] for c in api.get(f"/api/channels/community/{cid}").get_json()}
    secret = api.post("/api/channels", json={"name": "secret", "communityId": cid, "type": "TEXT",
                                             "isPrivate": True})
    assert secret.status_code == 201, secret.get_json()
    return {"id": cid, "general": channels["general"], "secret": secret.get_json()["id"]}
