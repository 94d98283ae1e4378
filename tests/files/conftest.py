"""Fixtures for the files tests: people, a community with a private channel, upload helpers."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from flask import Flask

from kraken.files.models import File

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


def stored_blobs(app: Flask) -> list[Path]:
    """Every file under the app's upload directory, except the temp folder (which must be empty too)."""
    root = app.extensions["kraken.settings"].resolved_upload_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_nothing_stored(app: Flask) -> None:
    assert File.objects.count() == 0
    assert stored_blobs(app) == []


def wipe_uploads(app: Flask) -> None:
    for blob in stored_blobs(app):
        blob.unlink()


@pytest.fixture(autouse=True)
def empty_upload_dir(app):
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
