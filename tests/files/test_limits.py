"""Instance limits: the upload size limit while streaming and over the whole body, and uploads off."""
import os

import pytest

from kraken import create_app
from tests.conftest import make_settings
from tests.factories import ApiClient, Factory
from tests.files.conftest import PNG, assert_nothing_stored, upload, wipe_uploads

LIMIT = 4096


@pytest.fixture(scope="module")
def small_app(tmp_path_factory, app):
    return create_app(make_settings(data_dir=tmp_path_factory.mktemp("small"), max_upload_bytes=LIMIT))


@pytest.fixture(scope="module")
def off_app(tmp_path_factory, app):
    return create_app(make_settings(data_dir=tmp_path_factory.mktemp("off"), uploads="off"))


@pytest.fixture(autouse=True)
def empty_upload_dirs(small_app, off_app):
    for extra in (small_app, off_app):
        wipe_uploads(extra)


def login(app, user) -> ApiClient:
    api = ApiClient(app.test_client())
    response = api.post("/api/auth/login", json={"username": user.username, "password": Factory.PASSWORD})
    assert response.status_code == 200, response.get_json()
    api.token = response.get_json()["accessToken"]
    return api


def png_of(size: int) -> bytes:
    return PNG[:16] + os.urandom(size - 16)


def test_a_file_at_the_limit_is_accepted(small_app, alice, club):
    response = upload(login(small_app, alice), png_of(LIMIT), resource_id=club["general"])
    assert response.status_code == 201 and response.get_json()["size"] == LIMIT


def test_a_file_over_the_limit_is_413_and_nothing_is_kept(small_app, alice, club):
    # The body is under MAX_CONTENT_LENGTH (limit + 1 MiB): the limit is enforced while streaming.
    response = upload(login(small_app, alice), png_of(LIMIT + 1), resource_id=club["general"])
    assert response.status_code == 413
    assert response.get_json() == {"statusCode": 413, "error": "Request Entity Too Large",
                                   "message": response.get_json()["message"], "code": "PAYLOAD_TOO_LARGE"}
    assert str(LIMIT) in response.get_json()["message"]
    with small_app.app_context():
        assert_nothing_stored(small_app)


def test_a_body_over_max_content_length_is_the_413_envelope(small_app, alice, club):
    response = upload(login(small_app, alice), png_of(LIMIT + 2 * 1024 * 1024), resource_id=club["general"])
    assert response.status_code == 413
    assert response.is_json and response.get_json()["code"] == "PAYLOAD_TOO_LARGE"
    with small_app.app_context():
        assert_nothing_stored(small_app)


def test_uploads_off_is_feature_disabled(off_app, alice, club):
    api = login(off_app, alice)
    for resource_type, rid in (("MESSAGE_ATTACHMENT", club["general"]), ("USER_AVATAR", None),
                               ("COMMUNITY_AVATAR", club["id"])):
        response = upload(api, PNG, "a.png", "image/png", resource_type, rid)
        assert response.status_code == 403
        assert response.get_json()["code"] == "FEATURE_DISABLED"
    with off_app.app_context():
        assert_nothing_stored(off_app)
