"""Where uploaded bytes live: a small Storage interface and its local-disk implementation."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from flask import current_app

from kraken.errors import PayloadTooLargeError

CHUNK_SIZE = 64 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")
_EXTENSION = "kraken.files.storage"


def too_large(max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"File too large: the limit is {max_bytes} bytes ({max_bytes / 2 ** 20:.1f} MiB)")


class Storage(ABC):
    """A place to keep uploaded bytes under opaque keys."""

    @abstractmethod
    def save(self, stream: BinaryIO, max_bytes: int) -> tuple[str, int, str]:
        """Store `stream` read in chunks; returns (key, size, sha256 hex).

        Raises PayloadTooLargeError as soon as more than `max_bytes` arrive; nothing is kept then.
        """

    @abstractmethod
    def open_range(self, key: str, start: int, stop: int) -> Iterable[bytes]:
        """Bytes [start, stop) as an iterable of chunks with `close()`; raises FileNotFoundError."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """The stored bytes as a seekable binary file (close it); raises FileNotFoundError."""

    @abstractmethod
    def size(self, key: str) -> int:
        """The stored size in bytes; raises FileNotFoundError."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the bytes; a missing key is not an error."""


class _RangeReader:
    """Iterates over part of an open file and closes it when done or when the server closes it."""

    def __init__(self, handle: BinaryIO, start: int, stop: int):
        self.handle, self.left = handle, stop - start
        handle.seek(start)

    def __iter__(self) -> Iterator[bytes]:
        try:
            while self.left > 0:
                chunk = self.handle.read(min(CHUNK_SIZE, self.left))
                if not chunk:
                    break
                self.left -= len(chunk)
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self.handle.close()


class LocalDiskStorage(Storage):
    """Files under `root/ab/cd/<32 hex>`; writes go to `root/tmp` first and are renamed into place,
    so a reader never sees a partial file and a failed upload leaves nothing behind."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        if not _KEY.match(key):  # keys come from our own records; refuse anything that could escape root
            raise FileNotFoundError(key)
        return self.root / key[:2] / key[2:4] / key

    def save(self, stream: BinaryIO, max_bytes: int) -> tuple[str, int, str]:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if size > max_bytes:
                        raise too_large(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            key = secrets.token_hex(16)
            target = self.path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return key, size, digest.hexdigest()

    def open_range(self, key: str, start: int, stop: int) -> _RangeReader:
        return _RangeReader(open(self.path(key), "rb"), start, stop)

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except FileNotFoundError:
            pass


class S3Storage(Storage):
    """Objects `<key>` in an S3-compatible bucket (boto3). Uploads stream: up to PART_SIZE bytes are held
    at a time, sent as one PUT or as the parts of a multipart upload (aborted on any failure, so a refused
    or broken upload leaves nothing); downloads ask the bucket for the byte range only. Kraken serves
    the bytes itself after its access check (decision 0069): the bucket stays private."""

    PART_SIZE = 8 * 1024 * 1024  # S3's parts are >= 5 MiB but the last

    def __init__(self, bucket: str, *, endpoint: str | None = None, region: str = "us-east-1",
                 access_key: str | None = None, secret_key: str | None = None):
        import boto3  # start-up cost: only an S3 instance loads boto3
        from botocore.config import Config  # with boto3, above

        self.bucket = bucket
        self.client = boto3.client(
            "s3", endpoint_url=endpoint or None, region_name=region, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, connect_timeout=2,
                          read_timeout=20, retries={"max_attempts": 3, "mode": "standard"}))
        self._bucket_checked = False

    def _ensure_bucket(self) -> None:
        if self._bucket_checked:
            return
        from botocore.exceptions import ClientError  # with boto3, above
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except ClientError as again:  # another process made it meanwhile
                if again.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou",
                                                                          "BucketAlreadyExists"):
                    raise
        self._bucket_checked = True

    def save(self, stream: BinaryIO, max_bytes: int) -> tuple[str, int, str]:
        self._ensure_bucket()
        key = secrets.token_hex(16)
        digest, size = hashlib.sha256(), 0
        buffer = bytearray()
        upload_id, parts = None, []
        try:
            while chunk := stream.read(CHUNK_SIZE):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large(max_bytes)
                digest.update(chunk)
                buffer += chunk
                if len(buffer) >= self.PART_SIZE:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
                    parts.append(self._part(key, upload_id, len(parts) + 1, buffer))
                    buffer.clear()
            if upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer))
            else:
                if buffer:
                    parts.append(self._part(key, upload_id, len(parts) + 1, buffer))
                self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                      MultipartUpload={"Parts": parts})
        except BaseException:
            if upload_id is not None:
                try:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                except Exception:
                    pass
            raise
        return key, size, digest.hexdigest()

    def _part(self, key: str, upload_id: str, number: int, data: bytearray) -> dict:
        answer = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                         Body=bytes(data))
        return {"ETag": answer["ETag"], "PartNumber": number}

    def _get(self, key: str, **kwargs) -> dict:
        from botocore.exceptions import ClientError  # with boto3, above
        if not _KEY.match(key):
            raise FileNotFoundError(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(key) from None
            raise

    def open_range(self, key: str, start: int, stop: int) -> Iterable[bytes]:
        if stop <= start:
            self.size(key)  # still a 404 for a missing object
            return _Chunks(iter(()), lambda: None)
        body = self._get(key, Range=f"bytes={start}-{stop - 1}")["Body"]
        return _Chunks(body.iter_chunks(CHUNK_SIZE), body.close)

    def open(self, key: str) -> BinaryIO:
        """The object as a seekable file: up to 8 MiB in memory, the rest spooled to a temporary file."""
        body = self._get(key)["Body"]
        spool = tempfile.SpooledTemporaryFile(max_size=self.PART_SIZE)
        try:
            for chunk in body.iter_chunks(CHUNK_SIZE):
                spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        finally:
            body.close()
        spool.seek(0)
        return spool

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError  # with boto3, above
        if not _KEY.match(key):
            raise FileNotFoundError(key)
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(key) from None
            raise

    def delete(self, key: str) -> None:
        if _KEY.match(key):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def put_file(self, key: str, path: Path) -> None:
        """Upload a local file under `key` (the copy to the bucket: `flask kraken storage-to-s3`)."""
        self._ensure_bucket()
        self.client.upload_file(str(path), self.bucket, key)


class _Chunks:
    """An iterable of chunks with `close()` (the response closes it when the client goes away)."""

    def __init__(self, chunks: Iterator[bytes], close):
        self._chunks, self._close = chunks, close

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks
        finally:
            self.close()

    def close(self) -> None:
        self._close()


def storage_for(settings) -> Storage:
    """The storage the settings name: the local disk (default) or the S3 bucket."""
    if settings.storage == "s3":
        return S3Storage(settings.s3_bucket, endpoint=settings.s3_endpoint, region=settings.s3_region,
                         access_key=settings.s3_access_key, secret_key=settings.s3_secret_key)
    return LocalDiskStorage(settings.resolved_upload_dir)


def get_storage() -> Storage:
    """The current app's storage (one instance per app, kept in `app.extensions`)."""
    extensions = current_app.extensions
    storage = extensions.get(_EXTENSION)
    if storage is None:
        storage = extensions.setdefault(_EXTENSION, storage_for(extensions["kraken.settings"]))
    return storage


def copy_to_bucket(keys: Iterable[tuple[str, int]], local: LocalDiskStorage, bucket: S3Storage,
                   echo, every: int = 100) -> dict[str, int]:
    """Copy each (key, size) from the local disk into the bucket unless the bucket already holds that
    key at that size (so a second run, or one after an interruption, copies only what is missing).
    Reports progress through `echo` every `every` files; returns the counts."""
    counts = {"copied": 0, "present": 0, "missing": 0}
    for done, (key, size) in enumerate(keys, start=1):
        try:
            present = bucket.size(key) == size
        except FileNotFoundError:
            present = False
        if present:
            counts["present"] += 1
        else:
            path = local.path(key)
            if path.is_file():
                bucket.put_file(key, path)
                counts["copied"] += 1
            else:
                counts["missing"] += 1
                echo(f"  missing on the local disk: {key}")
        if done % every == 0:
            echo(f"  {done} files: {counts}")
    return counts
