"""Signed file URLs (KLE §2.4, HF §14, decision 0066): one file, one reader, until it expires."""
from __future__ import annotations

import time
from datetime import datetime

from kraken import dependents
from kraken.files import signing
from kraken.users.models import User
from tests.files.conftest import JPEG, PNG, upload


def uploaded(api, channel_id, content=PNG, name="a.png", mime="image/png") -> str:
    response = upload(api, content, name, mime, resource_id=channel_id)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def signed(api, file_id) -> dict:
    response = api.get(f"/api/file/{file_id}/signed-url")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_signed_url_opens_its_file_without_a_token(client, alice, club, login_as):
    file_id = uploaded(login_as(alice), club["general"])
    body = signed(login_as(alice), file_id)
    assert body["url"].startswith(f"/api/file/{file_id}?sig=") and f"uid={alice.id}" in body["url"]
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00")).timestamp()
    assert abs(expires - (time.time() + signing.TTL_SECONDS)) < 10
    response = client.get(body["url"])
    assert response.status_code == 200 and response.data == PNG
    metadata_url = body["url"].replace(f"/api/file/{file_id}?", f"/api/file/{file_id}/metadata?")
    assert client.get(metadata_url).get_json()["id"] == file_id


def test_a_signed_url_for_one_file_does_not_open_another(client, alice, club, login_as):
    api = login_as(alice)
    first, second = uploaded(api, club["general"]), uploaded(api, club["general"], JPEG, "b.jpg", "image/jpeg")
    query = signed(api, first)["url"].split("?", 1)[1]
    for path in (f"/api/file/{second}", f"/api/file/{second}/metadata", f"/api/file/{second}/thumbnail"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 401 and response.get_json()["message"] == "Invalid or expired signed URL"


def test_an_expired_or_altered_signed_url_is_refused(app, client, alice, bob, club, login_as):
    file_id = uploaded(login_as(alice), club["general"])
    query, _ = signing.sign(file_id, str(alice.id), now=time.time() - signing.TTL_SECONDS - 5)
    assert client.get(f"/api/file/{file_id}?{query}").status_code == 401
    good = signed(login_as(alice), file_id)["url"]
    sig = good.split("sig=")[1].split("&")[0]
    tampered = [good.replace(sig, sig[:-1] + ("0" if sig[-1] != "0" else "1")),   # another signature
                good.replace(sig, sig[:-2]),                                     # a shorter one
                good.replace(f"uid={alice.id}", f"uid={bob.id}"),                # someone else
                good.replace("exp=", "exp=9")]                                   # a later expiry
    for url in tampered:
        response = client.get(url)
        assert response.status_code == 401 and response.get_json()["message"] == "Invalid or expired signed URL", url


def test_partial_parameters_are_401(client, alice, club, login_as):
    file_id = uploaded(login_as(alice), club["general"])
    response = client.get(f"/api/file/{file_id}?sig=abc&exp=1")
    assert response.status_code == 401 and response.get_json()["message"] == "Missing signed URL parameters"


def test_a_signed_url_is_rechecked_against_the_readers_access(client, alice, bob, club, login_as, factory):
    file_id = uploaded(login_as(alice), club["general"])
    sent = login_as(alice).post("/api/messages", json={"channelId": club["general"], "attachments": [file_id],
                                                       "spans": [{"type": "PLAINTEXT", "text": "x"}]})
    assert sent.status_code == 201
    url = signed(login_as(bob), file_id)["url"]
    assert client.get(url).status_code == 200
    assert login_as(alice).delete(f"/api/membership/community/{club['id']}/user/{bob.id}").status_code == 204
    assert client.get(url).status_code == 403  # Bob lost access (as with his token): so did his URL
    User.objects(id=alice.id).update_one(set__disabled=True)
    dependents.wrote(User, id=alice.id)  # as the account administration does
    own = signing.sign(file_id, str(alice.id))[0]
    assert client.get(f"/api/file/{file_id}?{own}").status_code == 401  # a disabled reader


def test_no_signed_url_for_a_file_one_cannot_read(alice, bob, carol, club, login_as):
    file_id = uploaded(login_as(alice), club["secret"])
    for user in (bob, carol):
        assert login_as(user).get(f"/api/file/{file_id}/signed-url").status_code == 404
    missing = "0123456789abcdef01234567"
    assert login_as(alice).get(f"/api/file/{missing}/signed-url").status_code == 404


def test_the_key_is_not_the_jwt_secret(app):
    assert signing._key() != app.extensions["kraken.settings"].jwt_secret.encode()
