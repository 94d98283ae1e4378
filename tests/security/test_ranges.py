"""Byte ranges of file downloads per RFC 9110 §14: unsatisfiable sets are 416 with
`Content-Range: bytes */N`, invalid ones are ignored (the whole file), one range is a 206."""
from __future__ import annotations

import pytest

from kraken.files.download import RangeNotSatisfiableError, requested_range
from tests.files.conftest import PNG, club, upload  # noqa: F401 - club is a fixture

ETAG = '"abc"'


@pytest.mark.parametrize("header, size", [
    ("bytes=-0", 100), ("bytes=100-", 100), ("bytes=100-200", 100), ("bytes=500-", 100), ("bytes=-0,-0", 100),
    ("bytes=100-,200-300", 100), ("bytes=0-", 0), ("bytes=0-0", 0), ("bytes=-0", 0), ("BYTES=150-", 100),
    ("bytes= 100-", 100), ("bytes=" + "9" * 30 + "-", 100),
])
def test_unsatisfiable_ranges_raise_416_with_the_size(header, size):
    with pytest.raises(RangeNotSatisfiableError) as err:
        requested_range(header, None, ETAG, size)
    assert err.value.status == 416 and err.value.headers == {"Content-Range": f"bytes */{size}"}


@pytest.mark.parametrize("header, size, expected", [
    ("bytes=0-0", 100, (0, 1)), ("bytes=0-99", 100, (0, 100)), ("bytes=99-", 100, (99, 100)),
    ("bytes=-1", 100, (99, 100)), ("bytes=-100", 100, (0, 100)), ("bytes=-1000", 100, (0, 100)),
    ("bytes=10-" + "9" * 30, 100, (10, 100)), ("bytes=5-9,", 100, (5, 10)), ("bytes= 5 - 9", 100, None),
    ("bytes=0-1,5-6", 100, None),  # several ranges: the whole file (no multipart)
    ("bytes=200-300,0-1", 100, None),  # one of them satisfiable: not a 416
    ("bytes=5-1", 100, None), ("bytes=abc", 100, None), ("bytes=1-2-3", 100, None), ("bytes=--5", 100, None),
    ("bytes=", 100, None), ("bytes=,", 100, None), ("items=0-5", 100, None), ("0-5", 100, None),
    ("bytes=-5", 0, None),  # a suffix of an empty file: satisfiable, and nothing to send but all of it
    ("bytes=0-" + "1" * 5000, 100, None), ("bytes=\u0660-5", 100, None),
])
def test_valid_single_ranges_are_served_and_everything_else_ignored(header, size, expected):
    assert requested_range(header, None, ETAG, size) == expected


def test_a_stale_if_range_ignores_even_an_unsatisfiable_range():
    assert requested_range("bytes=-0", '"old"', ETAG, 100) is None
    with pytest.raises(RangeNotSatisfiableError):
        requested_range("bytes=-0", ETAG, ETAG, 100)


@pytest.mark.parametrize("header", ["bytes=-0", f"bytes={len(PNG)}-", f"bytes={len(PNG)}-{len(PNG)}",
                                    "bytes=-0,-0", f"bytes={len(PNG) + 1}-,{len(PNG) * 2}-"])
def test_the_download_route_answers_416_for_unsatisfiable_ranges(alice, club, login_as, header):
    api = login_as(alice)
    file_id = upload(api, resource_id=club["general"]).get_json()["id"]
    response = api.get(f"/api/file/{file_id}", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(PNG)}"
    assert response.get_json()["code"] == "RANGE_NOT_SATISFIABLE"


@pytest.mark.parametrize("header, status, body", [
    ("bytes=-1", 206, PNG[-1:]), ("bytes=0-0", 206, PNG[:1]), ("bytes=9-3", 200, PNG), ("bytes=x-y", 200, PNG),
])
def test_the_download_route_serves_or_ignores_the_rest(alice, club, login_as, header, status, body):
    api = login_as(alice)
    file_id = upload(api, resource_id=club["general"]).get_json()["id"]
    response = api.get(f"/api/file/{file_id}", headers={"Range": header})
    assert response.status_code == status and response.data == body
