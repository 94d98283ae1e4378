"""Files: checked uploads, access to stored files, message attachments and clean-up.

Nothing here reads `flask.request`; the settings and the storage come from the current app.
"""
from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterable

from bson import ObjectId

from kraken import dependents, domain, extensions
from kraken.common.ids import is_object_id
from kraken.common.lookups import by_ids
from kraken.communities.models import Community
from kraken.errors import (ConflictError, FeatureDisabledError, KrakenError, NotFoundError, PayloadTooLargeError,
                           UnauthorizedError, ValidationError)
from kraken.files import mimes, signing, thumbnails
from kraken.files.models import COMMUNITY_AVATAR, COMMUNITY_BANNER, MESSAGE_ATTACHMENT, USER_AVATAR, File
from kraken.files.schemas import Upload, attachment_entry
from kraken.files.storage import get_storage, too_large
from kraken.rbac import access_file, access_own_file, access_upload_target
from kraken.storage_quota import service as quotas
from kraken.storage_quota.lookups import limits
from kraken.users.lookups import active_user
from kraken.users.models import User

log = logging.getLogger("kraken.files")
MAX_ATTACHMENTS = 10
HEAD_BYTES = 1024  # enough for every signature in kraken.files.mimes
_FILE_URL = re.compile(r"^(?:https?://[^/?#]+)?/api/file/([0-9a-fA-F]{24})/?$")
_COMMUNITY_FIELDS = {COMMUNITY_AVATAR: "avatar", COMMUNITY_BANNER: "banner"}


class UnsupportedFileTypeError(KrakenError):
    """The file's type is not allowed for its resource, or its content does not match the type."""

    status, code, default_message = 415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported file type"


def _settings():
    return extensions.settings()


def require_uploads_enabled() -> None:
    """Raises FeatureDisabledError (403 FEATURE_DISABLED) when KRAKEN_UPLOADS=off."""
    if _settings().uploads == "off":
        raise FeatureDisabledError("File uploads are disabled on this instance")


class _HeadThenRest:
    """A read()-able stream that replays the bytes already sniffed, then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if self.head:
            chunk, self.head = (self.head, b"") if size < 0 or size >= len(self.head) else \
                (self.head[:size], self.head[size:])
            return chunk
        return self.rest.read(size)


@dataclass(frozen=True)
class UploadBound:
    """The most bytes an upload may have now, and the error when it has more: the instance's largest
    file, or what is left of the uploader's quota if that is less (both 413)."""

    limit: int
    error: KrakenError


def upload_bound(actor) -> UploadBound:
    """What the actor may upload now: the stream is refused as soon as it passes `limit`."""
    max_file = limits().max_file_size_bytes
    quota, used = quotas.usage(actor.id)
    left = max(quota - used, 0)
    if left < max_file:
        return UploadBound(left, quotas.quota_exceeded(quota, used))
    return UploadBound(max_file, too_large(max_file))


def _read_head(stream: BinaryIO, size: int) -> bytes:
    head = b""
    while len(head) < size:
        chunk = stream.read(size - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _target(actor, resource_type: str, resource_id: str | None) -> tuple[ObjectId, ObjectId | None]:
    """Authorise the upload's resource (kraken.rbac); returns (resource id, community id)."""
    if resource_type != USER_AVATAR and resource_id is None:
        raise ValidationError([f"resourceId: required for {resource_type}"])
    return access_upload_target(actor, resource_type, resource_id)


def upload(actor, form: Upload, bound: UploadBound | None = None) -> File:
    """Store an upload for a resource the actor may change; avatars and banners are pointed at it
    (an older uploaded one is deleted). Its size is reserved on the uploader's quota (released if
    anything after fails).

    Raises FeatureDisabledError, ValidationError (missing resourceId, empty file),
    NotFoundError/ForbiddenError (resource), UnsupportedFileTypeError (type not allowed for the
    resource, or content not matching it), PayloadTooLargeError (over the largest file),
    QuotaExceededError (413: over what is left of the quota).
    """
    require_uploads_enabled()
    bound = bound or upload_bound(actor)
    resource_id, community_id = _target(actor, form.resource_type, form.resource_id)
    mime = mimes.normalise(form.declared_type, form.filename)
    allowed = mimes.ALLOWED[form.resource_type]
    if mime not in allowed:
        raise UnsupportedFileTypeError(f"Files of type {mime} are not accepted as {form.resource_type}; "
                                       f"allowed: {', '.join(sorted(allowed))}")
    head = _read_head(form.stream, HEAD_BYTES)
    if not head:
        raise ValidationError(["file: the file is empty"])
    if not mimes.content_matches(mime, head):
        raise UnsupportedFileTypeError(f"The file's content is not {mime}")
    storage = get_storage()
    try:
        key, size, checksum = storage.save(_HeadThenRest(head, form.stream), bound.limit)
    except PayloadTooLargeError:
        raise bound.error from None
    try:
        quotas.reserve(actor.id, size)  # the decision: a conditional $inc (decision 0065)
    except Exception:
        storage.delete(key)
        raise
    record = File(filename=form.filename, mime_type=mime, file_type=mimes.file_type(mime), size=size,
                  checksum=checksum, uploaded_by_id=actor.id, resource_type=form.resource_type,
                  resource_id=resource_id, community_id=community_id, storage_key=key)
    try:
        record.save(force_insert=True)
        if form.resource_type != MESSAGE_ATTACHMENT:
            _point_resource_at(record)
    except Exception:
        if record.id is not None:
            File.objects(id=record.id).delete()
        storage.delete(key)
        quotas.release(actor.id, size)
        raise
    return record


def _point_resource_at(record: File) -> None:
    """Make the user's avatar or the community's avatar/banner this file; delete the one it replaces."""
    if record.resource_type == USER_AVATAR:
        before = User.objects(id=record.resource_id).modify(set__avatar_url=record.url)
        old_url = before.avatar_url if before else None
    else:
        field = _COMMUNITY_FIELDS[record.resource_type]
        before = Community.objects(id=record.resource_id).modify(**{f"set__{field}": record.url})
        old_url = getattr(before, field) if before else None
    if before is None:
        raise NotFoundError("The resource of this upload no longer exists")
    _changed(record)
    old_id = _file_id_from_url(old_url)
    if old_id is not None and old_id != record.id:
        _purge(File.objects(id=old_id, resource_type=record.resource_type, resource_id=record.resource_id))


def _file_id_from_url(url: str | None) -> ObjectId | None:
    match = _FILE_URL.match(url) if isinstance(url, str) else None
    return ObjectId(match.group(1)) if match else None


def delete_upload(actor, file_id: str) -> File:
    """The uploader deletes their file (bytes and record); an avatar or banner showing it is cleared.

    Raises NotFoundError (missing or invisible), ForbiddenError (someone else's file).
    """
    record = access_own_file(actor, file_id)
    _forget_resource(record)
    _purge(File.objects(id=record.id))
    return record


def _forget_resource(record: File) -> None:
    if record.resource_type == USER_AVATAR:
        User.objects(id=record.resource_id, avatar_url=record.url).update_one(unset__avatar_url=1)
    elif record.resource_type in _COMMUNITY_FIELDS:
        field = _COMMUNITY_FIELDS[record.resource_type]
        Community.objects(id=record.resource_id, **{field: record.url}).update_one(**{f"unset__{field}": 1})
    _changed(record)


def _changed(record: File) -> None:
    """The user or community this file belongs to was written (its avatar or banner)."""
    dependents.wrote(User if record.resource_type == USER_AVATAR else Community, id=record.resource_id)


def _ref_id(ref: Any, where: str) -> ObjectId:
    value = ref
    if isinstance(ref, dict):
        url_id = _file_id_from_url(ref.get("url")) if ref.get("url") is not None else None
        if ref.get("url") is not None and url_id is None:
            raise ValidationError([f"{where}: url must be /api/file/<id> of an uploaded file"])
        value = str(url_id) if url_id is not None else ref.get("id")
        if url_id is not None and ref.get("id") is not None and str(ref["id"]).lower() != value:
            raise ValidationError([f"{where}: id and url name different files"])
    if not is_object_id(value):
        raise ValidationError([f"{where}: expected a file id or {{url: \"/api/file/<id>\"}}"])
    return ObjectId(value)


def claim_attachments(actor, channel, refs: list) -> list[dict]:  # channel: a conversation or its id
    """Check a message's `attachments` and return their entries, in order:
    `{"id", "url", "filename", "filetype", "size"}` (filetype is the MIME type).

    Each ref is a file id or `{url: "/api/file/<id>", ...}` (other keys are ignored: the stored values
    win) naming a MESSAGE_ATTACHMENT the actor uploaded for this channel and not yet attached.
    Nothing is changed; call `attach` once the message is stored.
    Raises ValidationError (more than 10, malformed or duplicate refs, unknown/foreign files,
    another channel's files, files already attached).
    """
    if len(refs) > MAX_ATTACHMENTS:
        raise ValidationError([f"attachments: at most {MAX_ATTACHMENTS} files per message"])
    ids = [_ref_id(ref, f"attachments[{i}]") for i, ref in enumerate(refs)]
    conversation_id = channel if isinstance(channel, ObjectId) else channel.id
    records = {f.id: f for f in by_ids(File, ids)}
    problems, seen = [], set()
    for i, file_id in enumerate(ids):
        record, where = records.get(file_id), f"attachments[{i}]"
        if file_id in seen:
            problems.append(f"{where}: file {file_id} is listed twice")
        elif record is None or record.resource_type != MESSAGE_ATTACHMENT or record.uploaded_by_id != actor.id:
            problems.append(f"{where}: unknown file {file_id}; upload it first as a MESSAGE_ATTACHMENT")
        elif record.resource_id != conversation_id:
            problems.append(f"{where}: file {file_id} was uploaded for another channel")
        elif record.message_id is not None:
            problems.append(f"{where}: file {file_id} is already attached to a message")
        seen.add(file_id)
    if problems:
        raise ValidationError(problems)
    return [attachment_entry(records[file_id]) for file_id in ids]


def attach(file_ids: Iterable[str | ObjectId], message_id: str | ObjectId) -> None:
    """Mark claimed files as attached to `message_id`. A conditional update (only files with no
    message yet), so one file cannot end up on two messages; if any was taken meanwhile, the
    files marked here are released again. Raises ConflictError.
    """
    ids = list({ObjectId(str(i)) for i in file_ids})
    if not ids:
        return
    message_id = ObjectId(str(message_id))
    # one conditional update per file (an `$in` is a scan on the default store, README "Storage")
    taken = sum(File.objects(id=i, resource_type=MESSAGE_ATTACHMENT, message_id=None).update_one(
        set__message_id=message_id) for i in ids)
    if taken != len(ids):
        for i in ids:
            File.objects(id=i, message_id=message_id).update_one(unset__message_id=1)
        raise ConflictError("An attachment was attached to another message", code="ATTACHMENT_TAKEN")


def detach(file_ids: Iterable[str | ObjectId], message_id: str | ObjectId) -> None:
    """Release files `attach` gave to `message_id` (its message could not take them)."""
    for i in {ObjectId(str(f)) for f in file_ids}:
        File.objects(id=i, message_id=ObjectId(str(message_id))).update_one(unset__message_id=1)


def _purge(query) -> int:
    """Delete the matching records, then their bytes (a failed disk delete leaves only an orphan blob)."""
    ids = list(query.scalar("id"))
    if not ids:
        return 0
    # find-and-delete: only the request whose delete removed the record gives its bytes back (a
    # concurrent delete of the same file releases nothing twice), and it sees the thumbnail made
    # until that moment (one made after cannot be recorded: kraken.files.service.thumbnail)
    records = [r for r in (File.objects(id=i).modify(remove=True) for i in ids) if r is not None]
    for record in records:
        quotas.release(record.uploaded_by_id, record.size)
    storage = get_storage()
    for record in records:
        try:
            storage.delete(record.storage_key)
            if record.thumbnail_key:
                storage.delete(record.thumbnail_key)
        except OSError as exc:
            log.warning("could not delete stored file", extra={"file_id": str(record.id), "detail": str(exc)})
    return len(records)


def _no_thumbnail() -> NotFoundError:
    return NotFoundError("No thumbnail available for this file")


def thumbnail(actor, file_id: str) -> tuple[File, str]:
    """(file, storage key of its JPEG thumbnail) for a file the actor may read: made on the first
    request and kept (one per file even when two first requests race). Raises NotFoundError (missing,
    invisible, not an image: "No thumbnail available for this file"), ImageTooLargeError (400,
    decompression bombs), UnreadableImageError (400).
    """
    record = access_file(actor, file_id)
    if record.thumbnail_key:
        return record, record.thumbnail_key
    if record.mime_type not in thumbnails.THUMBNAIL_TYPES:
        raise _no_thumbnail()
    storage = get_storage()
    try:
        source = storage.open(record.storage_key)
    except FileNotFoundError:
        raise NotFoundError("File not found") from None
    with source:
        jpeg = thumbnails.make(source)
    key, _, _ = storage.save(io.BytesIO(jpeg), len(jpeg))
    if File.objects(id=record.id, thumbnail_key=None).update_one(set__thumbnail_key=key):
        return record, key
    storage.delete(key)  # another request made it first, or the file was deleted meanwhile
    current = File.objects(id=record.id).only("thumbnail_key").first()
    if current is None or not current.thumbnail_key:
        raise NotFoundError("File not found")
    return record, current.thumbnail_key


def signed_url(actor, file_id: str) -> tuple[str, int]:
    """(URL, expiry in Unix seconds) opening this file for the actor without a token, for an hour.
    Raises NotFoundError/ForbiddenError as reading the file."""
    record = access_file(actor, file_id)
    query, expires = signing.sign(str(record.id), str(actor.id))
    return f"{record.url}?{query}", expires


def signed_reader(file_id: str, sig: str | None, exp: str | None, uid: str | None):
    """The user a signed URL was made for, if it is this file's, unexpired and theirs (still active).
    Raises UnauthorizedError: "Missing signed URL parameters", "Invalid or expired signed URL"."""
    if sig is None or exp is None or uid is None:
        raise UnauthorizedError("Missing signed URL parameters")
    user = None
    if is_object_id(uid) and signing.valid(str(file_id).lower(), uid.lower(), exp, sig):
        user = active_user(ObjectId(uid))
    if user is None:
        raise UnauthorizedError("Invalid or expired signed URL", code="INVALID_SIGNED_URL")
    return user


def delete_files(file_ids: Iterable[str | ObjectId]) -> int:
    """Delete these files' bytes and records (e.g. a deleted message's attachments); unknown ids are
    skipped. Returns how many were deleted; raises nothing for missing files."""
    ids = [ObjectId(str(i)) for i in file_ids if is_object_id(str(i))]
    return sum(_purge(File.objects(id=i)) for i in dict.fromkeys(ids))


def delete_for_channels(channel_ids: Iterable[ObjectId]) -> int:
    """Clean-up for deleted channels: their attachments' bytes and records."""
    channel_ids = list(channel_ids)
    if not channel_ids:
        return 0
    return sum(_purge(File.objects(resource_type=MESSAGE_ATTACHMENT, resource_id=c)) for c in channel_ids)


def delete_for_community(community_id: ObjectId, channel_ids: Iterable[ObjectId]) -> int:
    """Clean-up for a deleted community: its avatar, banner and every attachment in its channels."""
    # the community's own files, then each channel's attachments: equality queries only
    return _purge(File.objects(community_id=community_id)) + delete_for_channels(channel_ids)


def _channels_removing(community_id, *, channel_ids) -> None:
    delete_for_channels(channel_ids)


def _community_removing(community_id, *, channel_ids) -> None:
    delete_for_community(community_id, channel_ids)


def _user_removing(user) -> None:
    """A deleted account's avatar images (bytes and records; one equality on the resource index). Its
    attachments stay with its messages."""
    _purge(File.objects(resource_type=USER_AVATAR, resource_id=user.id))


def init_app() -> None:
    """Deleting a channel or a community leaves no file behind, on disk or in the database; deleting an
    account, none of its avatars."""
    domain.connect(domain.channels_removing, _channels_removing)
    domain.connect(domain.community_removing, _community_removing)
    domain.connect(domain.user_removing, _user_removing)
