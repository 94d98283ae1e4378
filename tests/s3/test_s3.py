"""KRAKEN_STORAGE=s3 against a real S3-compatible server (SeaweedFS's S3 gateway, built by
scripts/tools.sh): the storage streams uploads (one PUT, or a multipart upload past one part), refuses
an oversized one leaving nothing in the bucket, serves byte ranges; two app processes share the bucket
(uploaded through A, read with a range through B, access checks unchanged); `flask kraken storage-to-s3`
copies local uploads into the bucket once."""
from __future__ import annotations

import io
import os
import subprocess

import pytest
import requests

from kraken.errors import PayloadTooLargeError
from kraken.files.storage import LocalDiskStorage, S3Storage, copy_to_bucket
from tests.factories import Factory
from tests.live import VENV_BIN, ROOT, LiveServer, SeaweedS3
from tests.realtime.conftest import live_env

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + os.urandom(4000)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = SeaweedS3(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


@pytest.fixture
def bucket(s3):
    """One bucket for the module (SeaweedFS gives each bucket volumes of its own), emptied before each test."""
    storage = S3Storage("kraken-tests", endpoint=s3.endpoint, access_key=s3.ACCESS_KEY, secret_key=s3.SECRET_KEY)
    storage._ensure_bucket()
    for key in objects(storage):
        storage.client.delete_object(Bucket=storage.bucket, Key=key)
    for upload in uploads_in_progress(storage):
        storage.client.abort_multipart_upload(Bucket=storage.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    return storage


def objects(storage: S3Storage) -> list[str]:
    listed = storage.client.list_objects_v2(Bucket=storage.bucket)
    return [o["Key"] for o in listed.get("Contents", [])]


def uploads_in_progress(storage: S3Storage) -> list:
    return storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])


def read(storage, key, start, stop) -> bytes:
    return b"".join(storage.open_range(key, start, stop))


def test_a_small_upload_is_one_object_read_back_by_ranges(bucket):
    data = os.urandom(100_000)
    key, size, checksum = bucket.save(io.BytesIO(data), max_bytes=1_000_000)
    assert objects(bucket) == [key] and size == len(data) and bucket.size(key) == len(data)
    import hashlib
    assert checksum == hashlib.sha256(data).hexdigest()
    assert read(bucket, key, 0, len(data)) == data
    assert read(bucket, key, 1000, 1010) == data[1000:1010]
    assert read(bucket, key, 5, 5) == b""
    bucket.delete(key)
    assert objects(bucket) == []
    bucket.delete(key)  # deleting twice is no error
    with pytest.raises(FileNotFoundError):
        bucket.size(key)
    with pytest.raises(FileNotFoundError):
        read(bucket, key, 0, 1)


def test_a_large_upload_streams_as_a_multipart_upload(bucket, monkeypatch):
    monkeypatch.setattr(S3Storage, "PART_SIZE", 5 * 1024 * 1024)  # S3's smallest part
    data = os.urandom(12 * 1024 * 1024)
    reads = []

    class Stream(io.BytesIO):
        def read(self, n=-1):
            assert n != -1, "the storage must read in chunks"
            chunk = super().read(n)
            reads.append(len(chunk))
            return chunk

    key, size, _ = bucket.save(Stream(data), max_bytes=len(data))
    assert size == len(data) and max(reads) <= 64 * 1024
    head = bucket.client.head_object(Bucket=bucket.bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 2 MiB
    assert read(bucket, key, 5 * 1024 * 1024 - 3, 5 * 1024 * 1024 + 3) == data[5 * 1024 * 1024 - 3:5 * 1024 * 1024 + 3]
    assert uploads_in_progress(bucket) == []


@pytest.mark.parametrize("size", [2_000, 11 * 1024 * 1024])
def test_an_oversized_upload_is_refused_and_leaves_nothing(bucket, monkeypatch, size):
    monkeypatch.setattr(S3Storage, "PART_SIZE", 5 * 1024 * 1024)
    with pytest.raises(PayloadTooLargeError):
        bucket.save(io.BytesIO(os.urandom(size)), max_bytes=size - 1)
    assert objects(bucket) == [] and uploads_in_progress(bucket) == []


def test_keys_that_are_not_ours_are_never_sent_to_the_bucket(bucket):
    for key in ("../etc/passwd", "A" * 32, ""):
        with pytest.raises(FileNotFoundError):
            bucket.size(key)
        with pytest.raises(FileNotFoundError):
            read(bucket, key, 0, 1)


def test_copy_to_bucket_is_idempotent_and_reports_missing_files(bucket, tmp_path):
    local = LocalDiskStorage(tmp_path)
    keys = [local.save(io.BytesIO(os.urandom(n)), max_bytes=10**6)[:2] for n in (10, 2000, 70_000)]
    keys.append(("f" * 32, 5))  # a record whose bytes are gone from the disk
    lines = []
    first = copy_to_bucket(keys, local, bucket, lines.append, every=2)
    assert first == {"copied": 3, "present": 0, "missing": 1}
    assert sorted(objects(bucket)) == sorted(k for k, _ in keys[:3])
    assert any("2 files" in line for line in lines) and any("f" * 32 in line for line in lines)
    again = copy_to_bucket(keys, local, bucket, lines.append)
    assert again == {"copied": 0, "present": 3, "missing": 1}
    for key, size in keys[:3]:
        assert read(bucket, key, 0, size) == b"".join(local.open_range(key, 0, size))


def test_upload_through_one_process_download_a_range_through_another(s3, settings, tmp_path_factory, factory, app):
    env = live_env(settings, tmp_path_factory, KRAKEN_RATE_LIMITS="false", **s3.env("kraken-files"))
    logs = tmp_path_factory.mktemp("logs")
    a, b = LiveServer(env, logs / "a.log").start(), LiveServer(env, logs / "b.log").start()
    try:
        factory.owner("root")
        alice, bob, carol = factory.user("alice"), factory.user("bob"), factory.user("carol")
        club = factory.community(alice, "Club")
        factory.member(bob, club)
        general = factory.default_channel(club)

        def session(server, name):
            token = requests.post(server.url + "/api/auth/login", timeout=10,
                                  json={"username": name, "password": Factory.PASSWORD}).json()["accessToken"]
            s = requests.Session()
            s.headers["Authorization"] = f"Bearer {token}"
            return s

        on_a = session(a, "alice")
        up = on_a.post(a.url + "/api/file-upload", files={"file": ("a.png", PNG, "image/png")},
                       data={"resourceType": "MESSAGE_ATTACHMENT", "resourceId": str(general.id)}, timeout=10)
        assert up.status_code == 201, up.text
        file_id = up.json()["id"]
        sent = on_a.post(a.url + "/api/messages", timeout=10, json={
            "channelId": str(general.id), "spans": [{"type": "PLAINTEXT", "text": "pic"}], "attachments": [file_id]})
        assert sent.status_code == 201, sent.text
        assert objects(S3Storage("kraken-files", endpoint=s3.endpoint, access_key=s3.ACCESS_KEY,
                                 secret_key=s3.SECRET_KEY))  # the bytes are in the bucket, not on A's disk

        bob_on_b = session(b, "bob")
        whole = bob_on_b.get(b.url + f"/api/file/{file_id}", timeout=10)
        assert whole.status_code == 200 and whole.content == PNG
        etag = whole.headers["ETag"]
        part = bob_on_b.get(b.url + f"/api/file/{file_id}", headers={"Range": "bytes=100-199"}, timeout=10)
        assert part.status_code == 206 and part.content == PNG[100:200]
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(PNG)}"
        again = bob_on_b.get(b.url + f"/api/file/{file_id}", headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304
        # the access check is the same: a user outside the community cannot read it through B either
        assert session(b, "carol").get(b.url + f"/api/file/{file_id}", timeout=10).status_code in (403, 404)
    finally:
        a.stop()
        b.stop()


def test_the_cli_copies_local_uploads_into_the_bucket(s3, settings, tmp_path, app):
    local = LocalDiskStorage(tmp_path / "uploads")
    key, size, checksum = local.save(io.BytesIO(PNG), max_bytes=10**6)
    from bson import ObjectId
    from kraken.files.models import File
    File(filename="a.png", mime_type="image/png", file_type="IMAGE", size=size, checksum=checksum,
         uploaded_by_id=ObjectId(), resource_type="USER_AVATAR", resource_id=ObjectId(), storage_key=key).save()
    env = {**os.environ, "KRAKEN_ENV": "test", "MONGODB_URL": settings.mongodb_url, "REDIS_URL": settings.redis_url,
           "KRAKEN_DATA_DIR": str(tmp_path / "data"), **s3.env("kraken-copy")}

    def run():
        return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "kraken", "storage-to-s3",
                               "--from-dir", str(tmp_path / "uploads")], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)

    first = run()
    assert first.returncode == 0, first.stderr + first.stdout
    assert "done: 1 copied, 0 already there, 0 missing" in first.stdout
    bucket = S3Storage("kraken-copy", endpoint=s3.endpoint, access_key=s3.ACCESS_KEY, secret_key=s3.SECRET_KEY)
    assert read(bucket, key, 0, size) == PNG
    second = run()
    assert second.returncode == 0 and "done: 0 copied, 1 already there, 0 missing" in second.stdout
    without_s3 = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "kraken", "storage-to-s3"], cwd=ROOT,
                                env={k: v for k, v in env.items() if not k.startswith("KRAKEN_S3") and k != "KRAKEN_STORAGE"},
                                capture_output=True, text=True, timeout=60)
    assert without_s3.returncode != 0 and "KRAKEN_STORAGE=s3" in without_s3.stderr
