"""File routes (docs/decisions/0017-files.md; paths of the later versions, kraken-later-endpoints §2)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from kraken import ratelimits
from kraken.common.validation import UPLOAD_BODY, body_class
from kraken.files import service
from kraken.files.download import file_response, thumbnail_response
from kraken.files.schemas import FileMetadataOut, FileOut, SignedUrlOut, parse_upload
from kraken.files.storage import get_storage
from kraken.rbac import access_file, current_user, require_auth

bp = Blueprint("files", __name__, url_prefix="/api")

# A page shows dozens of images and avatars at once, each fetched with the user's token.
FILE_DOWNLOADS = ratelimits.LOOKUP_TIERS


@bp.post("/file-upload")
@require_auth
@body_class(UPLOAD_BODY)  # multipart, bounded while streaming (kraken.files.schemas.parse_upload)
def upload_file():
    service.require_uploads_enabled()  # before the body is parsed
    bound = service.upload_bound(current_user())  # the largest file, or what is left of the quota
    record = service.upload(current_user(), parse_upload(bound.limit, bound.error), bound)
    return FileOut.of(record), 201


@bp.delete("/file-upload/<oid:file_id>")
@require_auth
def delete_file(file_id: str):
    return FileOut.of(service.delete_upload(current_user(), file_id))


SIGNED_PARAMS = ("sig", "exp", "uid")


def reader(file_id: str):
    """Who reads: the user of a signed URL for this file (`?sig=&exp=&uid=`, decision 0066), else the
    bearer of an access token. Raises UnauthorizedError."""
    if any(name in request.args for name in SIGNED_PARAMS):
        return service.signed_reader(file_id, *(request.args.get(name) for name in SIGNED_PARAMS))
    return require_auth(current_user)()


@bp.get("/file/<oid:file_id>")
@ratelimits.limit(FILE_DOWNLOADS)
def get_file(file_id: str):
    record = access_file(reader(file_id), file_id)
    return file_response(record, get_storage(), request.headers)


@bp.get("/file/<oid:file_id>/metadata")
@ratelimits.limit(FILE_DOWNLOADS)
def get_file_metadata(file_id: str):
    return FileMetadataOut.of(access_file(reader(file_id), file_id))


@bp.get("/file/<oid:file_id>/thumbnail")
@ratelimits.limit(FILE_DOWNLOADS)
def get_file_thumbnail(file_id: str) -> Response:
    record, key = service.thumbnail(reader(file_id), file_id)
    return thumbnail_response(record, key, get_storage(), request.headers)


@bp.get("/file/<oid:file_id>/signed-url")
@ratelimits.limit(FILE_DOWNLOADS)
@require_auth
def get_signed_url(file_id: str):
    url, expires = service.signed_url(current_user(), file_id)
    return SignedUrlOut.of(url, expires)
