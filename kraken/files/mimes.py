"""What may be uploaded where: MIME allow-lists per resource type, file families and magic numbers."""
from __future__ import annotations

import mimetypes
from typing import Callable

from kraken.files.models import COMMUNITY_AVATAR, COMMUNITY_BANNER, MESSAGE_ATTACHMENT, USER_AVATAR

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime"})
AUDIO_TYPES = frozenset({"audio/mpeg", "audio/ogg", "audio/wav", "audio/webm"})
OLE_OFFICE = frozenset({"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"})
ZIP_OFFICE = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})
TEXT_TYPES = frozenset({"text/plain", "text/csv"})
DOCUMENT_TYPES = frozenset({"application/pdf"}) | OLE_OFFICE | ZIP_OFFICE | TEXT_TYPES
ARCHIVE_TYPES = frozenset({"application/zip"})

ALLOWED: dict[str, frozenset[str]] = {
    MESSAGE_ATTACHMENT: IMAGE_TYPES | VIDEO_TYPES | AUDIO_TYPES | DOCUMENT_TYPES | ARCHIVE_TYPES,
    USER_AVATAR: IMAGE_TYPES,
    COMMUNITY_AVATAR: IMAGE_TYPES,
    COMMUNITY_BANNER: IMAGE_TYPES,
}
# Served inline; everything else is a download (`Content-Disposition: attachment`).
INLINE_TYPES = IMAGE_TYPES | VIDEO_TYPES | AUDIO_TYPES | {"application/pdf"}

# Names browsers and operating systems use for the same types.
_ALIASES = {
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "audio/mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav",
    "application/x-zip-compressed": "application/zip", "application/x-zip": "application/zip",
    "text/x-csv": "text/csv", "application/csv": "text/csv",
}
_UNKNOWN = ("", "application/octet-stream", "binary/octet-stream")


def normalise(declared: str | None, filename: str) -> str:
    """The canonical MIME type of an upload: the declared one, or a guess from the name when the
    client did not know (browsers send application/octet-stream for unknown extensions)."""
    mime = (declared or "").split(";", 1)[0].strip().lower()
    if mime in _UNKNOWN:
        mime = (mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream").lower()
    if mime == "application/vnd.ms-excel" and filename.lower().endswith(".csv"):
        mime = "text/csv"  # Windows browsers label CSV files as Excel
    return _ALIASES.get(mime, mime)


def file_type(mime: str) -> str:
    family = mime.split("/", 1)[0]
    if family in ("image", "video", "audio"):
        return family.upper()
    return "DOCUMENT" if mime in DOCUMENT_TYPES else "OTHER"


def _riff(kind: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[:4] == b"RIFF" and head[8:12] == kind


def _iso_media(head: bytes) -> bool:
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def _mpeg_audio(head: bytes) -> bool:
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _zip(head: bytes) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


_EBML = b"\x1a\x45\xdf\xa3"
_MAGIC: dict[str, Callable[[bytes], bool]] = {
    "image/png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda head: head.startswith(b"\xff\xd8\xff"),
    "image/gif": lambda head: head[:6] in (b"GIF87a", b"GIF89a"),
    "image/webp": _riff(b"WEBP"),
    "video/mp4": _iso_media,
    "video/quicktime": _iso_media,
    "video/webm": lambda head: head.startswith(_EBML),
    "audio/webm": lambda head: head.startswith(_EBML),
    "audio/ogg": lambda head: head.startswith(b"OggS"),
    "audio/wav": _riff(b"WAVE"),
    "audio/mpeg": _mpeg_audio,
    # PDF readers accept a little junk before the header
    "application/pdf": lambda head: b"%PDF-" in head[:1024],
    "application/zip": _zip,
    **{mime: _zip for mime in ZIP_OFFICE},
    **{mime: (lambda head: head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")) for mime in OLE_OFFICE},
}


def content_matches(mime: str, head: bytes) -> bool:
    """Whether the first bytes look like `mime` (so an HTML page cannot pose as image/png).
    Text types have no signature; they are served as downloads with `nosniff`."""
    check = _MAGIC.get(mime)
    return True if check is None else check(head)
