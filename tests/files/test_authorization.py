"""Authorization of the file extras (issue 22): thumbnails and signed URLs as reading the file.

Principals and row patterns as in tests/rbac/test_authorization_matrix.py; {FG}, {FP}, {FD} are JPEG
attachments of the seeded messages in `general`, the private channel and the group conversation.
Every denial leaves the database as it was.
"""
from __future__ import annotations

import io

import pytest
from PIL import Image

from kraken.files import service as files
from kraken.files.schemas import attachment_entry
from kraken.messages.models import Message
from tests.factories import Factory, dump
from tests.rbac.test_authorization_matrix import DM_GROUP_READ, MEMBERS, PRINCIPALS, PRIVATE_ENTER


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


MATRIX = [
    ("/api/file/{FG}/thumbnail", MEMBERS),
    ("/api/file/{FP}/thumbnail", PRIVATE_ENTER),
    ("/api/file/{FD}/thumbnail", DM_GROUP_READ),
    ("/api/file/{FG}/signed-url", MEMBERS),
    ("/api/file/{FP}/signed-url", PRIVATE_ENTER),
    ("/api/file/{FD}/signed-url", DM_GROUP_READ),
]
CASES = [(path, principal, int(status)) for path, row in MATRIX
         for principal, status in zip(PRINCIPALS, row.split(), strict=True)]


@pytest.fixture(scope="module")
def club(app, storage_backend):  # made again on each storage
    from tests.conftest import _wipe
    _wipe()
    factory = Factory(app)
    club = factory.club().seed_messages()
    ids = {}
    for name, key, uploader, where in (("general", "FG", club.member, club.general),
                                       ("private", "FP", club.pcmember, club.private),
                                       ("dm", "FD", club.member, club.dm_group)):
        record = factory.file(uploader, where, _jpeg(), "p.jpg", "image/jpeg")
        message = club.messages[name]
        files.attach([record.id], message.id)
        Message.objects(id=message.id).update_one(push__attachments=attachment_entry(record))
        ids[key] = str(record.id)
    club.file_ids = ids
    club.freeze()
    yield club
    _wipe()


@pytest.fixture(autouse=True)
def clean_state():  # the Club is restored per case instead of wiped
    yield


@pytest.fixture(autouse=True)
def empty_upload_dir():  # the Club's stored bytes stay for the module
    yield


@pytest.mark.parametrize("path, principal, expected", CASES, ids=[f"GET {p} as {who}" for p, who, _ in CASES])
def test_file_extras_answer_each_principal_as_reading_the_file(app, club, path, principal, expected):
    club.restore()
    headers = {"Authorization": f"Bearer {club.tokens[principal]}"} if principal != "anon" else {}
    response = app.test_client().get(path.format(**club.file_ids), headers=headers)
    assert response.status_code == expected, (path, principal, response.get_json(silent=True))
    if expected >= 400:
        assert response.get_json()["statusCode"] == expected
        assert dump() == club.snapshot, "a denied request changed the database"
