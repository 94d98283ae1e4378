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


def get_storage() -> Storage:
    """The current app's storage (one instance per app, kept in `app.extensions`)."""
    extensions = current_app.extensions
    storage = extensions.get(_EXTENSION)
    if storage is None:
        root = extensions["kraken.settings"].resolved_upload_dir
        storage = extensions.setdefault(_EXTENSION, LocalDiskStorage(root))
    return storage
