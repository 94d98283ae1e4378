"""Image thumbnails (HF §14, decision 0066): made once and kept, bounded, bombs and non-images refused."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from kraken.files.models import File
from kraken.files.thumbnails import MAX_EDGE
from tests.factories import race
from tests.files.conftest import PDF, stored_blobs, upload


def image_bytes(fmt: str, size=(1600, 1200), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 90, 128) if mode == "RGBA" else (200, 30, 90)).save(out, fmt)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width=30_000, height=30_000) -> bytes:
    """A valid PNG header of 900 megapixels with a tiny body: the pixels would be decoded on demand."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 1024))
            + _chunk(b"IEND", b""))


def uploaded(api, club, content, name="a.jpg", mime="image/jpeg") -> str:
    response = upload(api, content, name, mime, resource_id=club["general"])
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_jpeg_gets_a_bounded_jpeg_thumbnail_made_once(app, alice, club, login_as):
    api = login_as(alice)
    file_id = uploaded(api, club, image_bytes("JPEG"))
    first = api.get(f"/api/file/{file_id}/thumbnail")
    assert first.status_code == 200 and first.mimetype == "image/jpeg"
    assert first.headers["Cache-Control"] == "private, max-age=86400"
    with Image.open(io.BytesIO(first.data)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (MAX_EDGE, 360)  # aspect kept
    key = File.objects.get(id=file_id).thumbnail_key
    assert key and len(stored_blobs(app)) == 2
    again = api.get(f"/api/file/{file_id}/thumbnail")
    assert again.data == first.data and File.objects.get(id=file_id).thumbnail_key == key
    assert len(stored_blobs(app)) == 2  # kept, not made again
    assert api.get(f"/api/file/{file_id}/thumbnail",
                   headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_png_with_transparency_and_small_images(alice, club, login_as):
    api = login_as(alice)
    rgba = uploaded(api, club, image_bytes("PNG", (300, 900), "RGBA"), "t.png", "image/png")
    with Image.open(io.BytesIO(api.get(f"/api/file/{rgba}/thumbnail").data)) as thumb:
        assert thumb.size == (160, MAX_EDGE) and thumb.mode == "RGB"
    small = uploaded(api, club, image_bytes("GIF", (40, 20)), "s.gif", "image/gif")
    with Image.open(io.BytesIO(api.get(f"/api/file/{small}/thumbnail").data)) as thumb:
        assert thumb.size == (40, 20)  # never enlarged


def test_a_file_that_is_not_an_image_has_no_thumbnail(alice, club, login_as):
    api = login_as(alice)
    pdf = uploaded(api, club, PDF, "p.pdf", "application/pdf")
    response = api.get(f"/api/file/{pdf}/thumbnail")
    assert response.status_code == 404 and response.get_json()["message"] == "No thumbnail available for this file"
    assert File.objects.get(id=pdf).thumbnail_key is None


def test_a_decompression_bomb_is_400_and_nothing_is_kept(app, alice, club, login_as):
    api = login_as(alice)
    bomb = uploaded(api, club, png_bomb(), "bomb.png", "image/png")
    response = api.get(f"/api/file/{bomb}/thumbnail")
    assert response.status_code == 400 and response.get_json()["code"] == "IMAGE_TOO_LARGE"
    assert File.objects.get(id=bomb).thumbnail_key is None and len(stored_blobs(app)) == 1


def test_an_unreadable_image_is_400(alice, club, login_as):
    api = login_as(alice)
    broken = uploaded(api, club, b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, "b.png", "image/png")
    response = api.get(f"/api/file/{broken}/thumbnail")
    assert response.status_code == 400 and response.get_json()["code"] == "INVALID_IMAGE"


def test_two_first_requests_keep_one_thumbnail(app, alice, club, factory, login_as):
    file_id = uploaded(login_as(alice), club, image_bytes("JPEG"))
    token, bodies = factory.token(alice), []

    def fetch():
        response = app.test_client().get(f"/api/file/{file_id}/thumbnail",
                                          headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        bodies.append(response.data)

    race(app, [fetch] * 4)
    assert len(set(bodies)) == 1
    assert len(stored_blobs(app)) == 2  # the image and one thumbnail: the losers deleted theirs


def test_deleting_the_file_deletes_its_thumbnail(app, alice, club, login_as):
    api = login_as(alice)
    file_id = uploaded(api, club, image_bytes("JPEG"))
    assert api.get(f"/api/file/{file_id}/thumbnail").status_code == 200
    assert api.delete(f"/api/file-upload/{file_id}").status_code == 200
    assert stored_blobs(app) == []


def test_thumbnail_access_is_the_files(alice, bob, carol, club, login_as):
    secret = upload(login_as(alice), image_bytes("JPEG"), "s.jpg", "image/jpeg", resource_id=club["secret"])
    file_id = secret.get_json()["id"]
    sent = login_as(alice).post("/api/messages", json={"channelId": club["secret"], "attachments": [file_id],
                                                       "spans": [{"type": "PLAINTEXT", "text": "pic"}]})
    assert sent.status_code == 201
    for outsider in (bob, carol):  # a member outside the private channel, a stranger
        response = login_as(outsider).get(f"/api/file/{file_id}/thumbnail")
        assert response.status_code == 404
    assert File.objects.get(id=file_id).thumbnail_key is None  # nothing made for them
    assert login_as(alice).get(f"/api/file/{file_id}/thumbnail").status_code == 200
    assert login_as(alice).get(f"/api/file/{file_id}/thumbnail", headers={"Authorization": ""}).status_code == 401
