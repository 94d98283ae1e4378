"""The upload form (validated at the edge) and File JSON."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, BinaryIO, Literal

from flask import request
from pydantic import BaseModel
from werkzeug.exceptions import RequestEntityTooLarge

from kraken import extensions
from kraken.common.ids import ObjectIdStr
from kraken.common.time import IsoDateTime
from kraken.common.validation import RequestModel, validate
from kraken.errors import KrakenError, ValidationError
from kraken.files.storage import too_large

MAX_FILENAME = 255


def clean_filename(raw: str | None) -> str:
    """The last path component without control or format characters (no CR/LF in headers, no
    right-to-left overrides disguising `gpj.exe`), at most 255 characters, keeping the extension."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip()
    if name in ("", ".", ".."):
        return "file"
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and stem and len(ext) <= 16 else ""
        name = name[:MAX_FILENAME - len(ext) - 1].rstrip() + "." + ext if ext else name[:MAX_FILENAME]
    return name


class UploadFields(RequestModel):
    resourceType: Literal["MESSAGE_ATTACHMENT", "USER_AVATAR", "COMMUNITY_AVATAR", "COMMUNITY_BANNER"]
    resourceId: ObjectIdStr | None = None


@dataclass(frozen=True)
class Upload:
    resource_type: str
    resource_id: str | None
    filename: str
    declared_type: str
    stream: BinaryIO


# room for the multipart framing and the text fields around the file
MULTIPART_SLACK = 1024 * 1024


def parse_upload(limit: int | None = None, error: KrakenError | None = None) -> Upload:
    """The multipart upload of this request, whose file may have `limit` bytes: the body is refused
    as soon as it passes that plus the framing (`error`, else the instance limit's 413).
    Raises ValidationError (400), PayloadTooLargeError (413)."""
    if limit is not None:
        request.max_content_length = min(limit + MULTIPART_SLACK, request.max_content_length or limit + MULTIPART_SLACK)
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:  # the whole body is over the limit: refused while it streams in
        raise error or too_large(extensions.settings().max_upload_bytes) from None
    fields = validate(UploadFields, {key: form[key] for key in ("resourceType", "resourceId") if form.get(key)})
    file = files.get("file")
    if file is None:
        raise ValidationError(["file: a file is required (multipart/form-data field `file`)"])
    return Upload(resource_type=fields.resourceType, resource_id=fields.resourceId,
                  filename=clean_filename(file.filename), declared_type=file.mimetype, stream=file.stream)


def _metadata(f) -> dict[str, Any]:
    return {"id": str(f.id), "url": f.url, "filename": f.filename, "mimeType": f.mime_type,
            "fileType": f.file_type, "size": f.size}


class FileMetadataOut(BaseModel):
    id: str
    url: str
    filename: str
    mimeType: str
    fileType: str
    size: int

    @classmethod
    def of(cls, f) -> dict[str, Any]:
        return cls(**_metadata(f)).model_dump(mode="json")


class FileOut(FileMetadataOut):
    checksum: str
    uploadedById: str
    uploadedAt: IsoDateTime
    resourceType: str
    resourceId: str

    @classmethod
    def of(cls, f) -> dict[str, Any]:
        return cls(**_metadata(f), checksum=f.checksum, uploadedById=str(f.uploaded_by_id),
                   uploadedAt=f.uploaded_at, resourceType=f.resource_type,
                   resourceId=str(f.resource_id)).model_dump(mode="json")


def attachment_entry(f) -> dict[str, Any]:
    """A message's `attachments` entry: the contract's {url, filename, filetype, size} plus the file id."""
    return {"id": str(f.id), "url": f.url, "filename": f.filename, "filetype": f.mime_type, "size": f.size}


class SignedUrlOut(BaseModel):
    """`GET /api/file/:id/signed-url`: a URL opening the file without a token until `expiresAt`."""

    url: str
    expiresAt: IsoDateTime

    @classmethod
    def of(cls, url: str, expires: int) -> dict[str, Any]:
        return cls(url=url, expiresAt=datetime.fromtimestamp(expires, timezone.utc)).model_dump(mode="json")
