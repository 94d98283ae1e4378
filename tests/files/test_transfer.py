"""Upload and download: byte-exact round trips, ranges, headers, metadata, bad input, type checks."""
import hashlib
import os
from urllib.parse import quote

import pytest

from kraken.files.models import File
from tests.files.conftest import PDF, PNG, assert_nothing_stored, stored_blobs, upload


def test_upload_then_download_is_byte_exact(app, alice, club, login_as):
    api = login_as(alice)
    response = upload(api, PNG, "cat.png", "image/png", resource_id=club["general"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    fid = body["id"]
    assert body == {"id": fid, "url": f"/api/file/{fid}", "filename": "cat.png", "mimeType": "image/png",
                    "fileType": "IMAGE", "size": len(PNG), "checksum": hashlib.sha256(PNG).hexdigest(),
                    "uploadedById": str(alice.id), "uploadedAt": body["uploadedAt"],
                    "resourceType": "MESSAGE_ATTACHMENT", "resourceId": club["general"]}
    assert body["uploadedAt"].endswith("Z")
    assert len(stored_blobs(app)) == 1 and stored_blobs(app)[0].read_bytes() == PNG

    download = api.get(body["url"])
    assert download.status_code == 200
    assert download.data == PNG and hashlib.sha256(download.data).hexdigest() == body["checksum"]
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Length"] == str(len(PNG))
    assert download.headers["Accept-Ranges"] == "bytes"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, max-age=3600"
    assert download.headers["Content-Disposition"] == "inline; filename=\"cat.png\"; filename*=UTF-8''cat.png"

    metadata = api.get(f"/api/file/{fid}/metadata")
    assert metadata.status_code == 200
    assert metadata.get_json() == {"id": fid, "url": f"/api/file/{fid}", "filename": "cat.png",
                                   "mimeType": "image/png", "fileType": "IMAGE", "size": len(PNG)}


def test_download_needs_a_token(alice, club, login_as, client):
    fid = upload(login_as(alice), resource_id=club["general"]).get_json()["id"]
    assert client.get(f"/api/file/{fid}").status_code == 401
    assert client.get(f"/api/file/{fid}/metadata").status_code == 401


@pytest.mark.parametrize("header, status, expected", [
    ("bytes=0-9", 206, (0, 10)),
    ("bytes=-16", 206, (len(PNG) - 16, len(PNG))),
    ("bytes=100-", 206, (100, len(PNG))),
    ("bytes=10-999999", 206, (10, len(PNG))),
    ("bytes=-999999", 206, (0, len(PNG))),
    ("bytes=0-1,5-6", 200, (0, len(PNG))),   # multi-range: the whole file
    ("bytes=oops", 200, (0, len(PNG))),      # unparseable: ignored
])
def test_single_byte_ranges(alice, club, login_as, header, status, expected):
    api = login_as(alice)
    fid = upload(api, resource_id=club["general"]).get_json()["id"]
    response = api.get(f"/api/file/{fid}", headers={"Range": header})
    start, stop = expected
    assert response.status_code == status
    assert response.data == PNG[start:stop]
    assert response.headers["Content-Length"] == str(stop - start)
    if status == 206:
        assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{len(PNG)}"
    else:
        assert "Content-Range" not in response.headers


@pytest.mark.parametrize("header", [f"bytes={len(PNG)}-", f"bytes={len(PNG) + 10}-{len(PNG) + 20}"])
def test_unsatisfiable_range_is_416(alice, club, login_as, header):
    api = login_as(alice)
    fid = upload(api, resource_id=club["general"]).get_json()["id"]
    response = api.get(f"/api/file/{fid}", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(PNG)}"
    assert response.get_json()["code"] == "RANGE_NOT_SATISFIABLE"


def test_if_range_with_another_etag_sends_the_whole_file(alice, club, login_as):
    api = login_as(alice)
    fid = upload(api, resource_id=club["general"]).get_json()["id"]
    etag = api.get(f"/api/file/{fid}").headers["ETag"]
    assert api.get(f"/api/file/{fid}", headers={"Range": "bytes=0-3", "If-Range": etag}).status_code == 206
    stale = api.get(f"/api/file/{fid}", headers={"Range": "bytes=0-3", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.data == PNG
    assert api.get(f"/api/file/{fid}", headers={"If-None-Match": etag}).status_code == 304


def test_documents_are_downloads_with_an_encoded_utf8_name(alice, club, login_as):
    api = login_as(alice)
    body = upload(api, PDF, "/home/x/Résumé (final)\u202e.pdf", "application/pdf",
                  resource_id=club["general"]).get_json()
    assert body["filename"] == "Résumé (final).pdf" and body["fileType"] == "DOCUMENT"
    response = api.get(body["url"])
    assert response.headers["Content-Disposition"] == (
        "inline; filename=\"Resume (final).pdf\"; filename*=UTF-8''" + quote("Résumé (final).pdf", safe=""))
    text = upload(api, b"a,b\n1,2\n", "../../etc/data.csv", "text/csv", resource_id=club["general"]).get_json()
    assert text["filename"] == "data.csv" and text["mimeType"] == "text/csv"
    assert api.get(text["url"]).headers["Content-Disposition"].startswith("attachment; ")


def test_header_names_cannot_break_out_of_their_quotes():
    from kraken.files.download import content_disposition
    from kraken.files.schemas import clean_filename
    name = clean_filename('a"b\\c\r\nSet-Cookie: x.txt')
    assert name == "c\rSet-Cookie: x.txt".replace("\r", "")
    assert content_disposition("text/plain", 'q"uo\\te;.txt') == (
        "attachment; filename=\"q_uo_te_.txt\"; filename*=UTF-8''q%22uo%5Cte%3B.txt")
    assert clean_filename("") == "file" and clean_filename("..") == "file"
    long = clean_filename("x" * 300 + ".jpeg")
    assert len(long) == 255 and long.endswith(".jpeg")


@pytest.mark.parametrize("data, message_part", [
    ({"resourceType": "MESSAGE_ATTACHMENT"}, "file"),
    ({"resourceType": "NOPE", "file": "x"}, "resourceType"),
    ({}, "resourceType"),
])
def test_bad_forms_are_400(alice, club, login_as, app, data, message_part):
    api = login_as(alice)
    data = dict(data)
    data.setdefault("resourceId", club["general"])
    if data.get("file") == "x":
        import io
        data["file"] = (io.BytesIO(PNG), "a.png", "image/png")
    response = api.post("/api/file-upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    body = response.get_json()
    assert body["statusCode"] == 400 and any(message_part in m for m in body["message"])
    assert_nothing_stored(app)


@pytest.mark.parametrize("resource_id", ["123", "zzzzzzzzzzzzzzzzzzzzzzzz", {"$ne": None}])
def test_malformed_resource_ids_are_400(alice, club, login_as, app, resource_id):
    response = upload(login_as(alice), resource_id=resource_id)
    assert response.status_code == 400 and response.get_json()["statusCode"] == 400
    assert_nothing_stored(app)


def test_non_multipart_and_broken_bodies_are_400(alice, club, login_as, app):
    api = login_as(alice)
    assert api.post("/api/file-upload", json={"resourceType": "USER_AVATAR"}).status_code == 400
    broken = api.post("/api/file-upload", data=b"--xx\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc",
                      content_type="multipart/form-data; boundary=yy")
    assert broken.status_code == 400 and broken.get_json()["code"] == "VALIDATION_FAILED"
    no_boundary = api.post("/api/file-upload", data=b"abc", content_type="multipart/form-data")
    assert no_boundary.status_code == 400
    assert_nothing_stored(app)


def test_missing_resource_id_for_an_attachment_is_400(alice, login_as, app):
    response = upload(login_as(alice), resource_id=None)
    assert response.status_code == 400 and "resourceId" in response.get_json()["message"][0]
    assert_nothing_stored(app)


def test_unknown_channel_is_404(alice, login_as, app):
    response = upload(login_as(alice), resource_id="0" * 24)
    assert response.status_code == 404
    assert_nothing_stored(app)


@pytest.mark.parametrize("content, filename, mime, resource_type", [
    (b"<html><script>alert(1)</script></html>", "x.html", "text/html", "MESSAGE_ATTACHMENT"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.svg", "image/svg+xml", "MESSAGE_ATTACHMENT"),
    (b"MZ\x90\x00" + os.urandom(100), "setup.exe", "application/x-msdownload", "MESSAGE_ATTACHMENT"),
    (PDF, "doc.pdf", "application/pdf", "USER_AVATAR"),
    (b"#!/bin/sh\nrm -rf /\n", "run.sh", "application/octet-stream", "MESSAGE_ATTACHMENT"),
])
def test_types_not_allowed_for_the_resource_are_415(alice, club, login_as, app, content, filename, mime,
                                                    resource_type):
    rid = club["general"] if resource_type == "MESSAGE_ATTACHMENT" else None
    response = upload(login_as(alice), content, filename, mime, resource_type, rid)
    assert response.status_code == 415
    body = response.get_json()
    assert body["code"] == "UNSUPPORTED_MEDIA_TYPE" and "not accepted" in body["message"]
    assert_nothing_stored(app)


@pytest.mark.parametrize("content, mime", [
    (b"<html><script>alert(document.cookie)</script></html>", "image/png"),
    (b"GIF89a" + os.urandom(10), "image/png"),
    (PNG, "image/jpeg"),
    (b"<html></html>", "application/pdf"),
    (b"not a zip at all", "application/zip"),
])
def test_content_that_does_not_match_its_type_is_refused(alice, club, login_as, app, content, mime):
    response = upload(login_as(alice), content, "x.bin", mime, resource_id=club["general"])
    assert response.status_code == 415
    assert "content" in response.get_json()["message"]
    assert_nothing_stored(app)


def test_empty_file_is_400(alice, club, login_as, app):
    response = upload(login_as(alice), b"", "empty.txt", "text/plain", resource_id=club["general"])
    assert response.status_code == 400 and "empty" in response.get_json()["message"][0]
    assert_nothing_stored(app)


def test_octet_stream_uploads_are_typed_by_their_name(alice, club, login_as):
    body = upload(login_as(alice), PDF, "paper.pdf", "application/octet-stream",
                  resource_id=club["general"]).get_json()
    assert body["mimeType"] == "application/pdf"
    assert File.objects.get(id=body["id"]).file_type == "DOCUMENT"
