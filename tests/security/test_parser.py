"""The one request parser (kraken.common.jsonparse, kraken.common.validation): depth, duplicate keys,
values JSON does not have, size per route class, repeated query parameters; and the rate-limit key
that reads a login body reads it through the same parser."""
from __future__ import annotations

import io

import pytest

from kraken import create_app
from kraken.common import jsonparse
from kraken.common.jsonparse import MAX_DEPTH, JsonRefused
from kraken.common.validation import AUTH_BODY, JSON_BODY, WEBHOOK_BODY
from kraken.extensions import redis
from kraken.messages.models import Message
from kraken.users.models import User
from tests.conftest import make_settings


def nested(depth: int, opener: str = "[", closer: str = "]", inner: str = "1") -> str:
    return opener * depth + inner + closer * depth


# --- the parser itself -------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    nested(MAX_DEPTH), nested(MAX_DEPTH, '{"a":', "}"), '{"a":"' + "[" * 500 + '"}',  # brackets in a string
    '{"a":"\\"[[[[[[[[[[[[[[[[[[[[\\""}', '{"emoji":"\\ud83d\\udc4d"}', '{"a":1.5e300}', '{"a":-0}',
    '{"a":"x","b":{"a":"y"}}',  # the same key in two objects is no duplicate
    '[{"a":1},{"a":2}]'
])
def test_the_parser_reads_legitimate_json(text):
    assert jsonparse.loads(text) is not None or text == "null"


@pytest.mark.parametrize("text", [
    nested(MAX_DEPTH + 1), nested(MAX_DEPTH + 1, '{"a":', "}"), nested(10_000), nested(10_000, '{"a":', "}"),
    "[" * 100_000, '{"spans":' + nested(40, '[{"text":', "}]") + "}", "[" * 20 + "{" * 20,
])
def test_nesting_past_the_limit_is_refused_without_recursing(text):
    with pytest.raises(JsonRefused, match="nested deeper"):
        jsonparse.loads(text)


@pytest.mark.parametrize("text", [
    '{"a":1,"a":2}', '{"a":1,"b":2,"a":1}', '{"x":{"a":1,"a":1}}', '[{"k":[{"z":0,"z":0}]}]',
    '{"username":"alice","password":"x","username":"root"}', '{"a":1,"a":2,"a":3}', '{"\\u0061":1,"a":2}',
])
def test_duplicate_keys_are_refused_at_any_depth(text):
    with pytest.raises(JsonRefused, match="Duplicate key"):
        jsonparse.loads(text)


@pytest.mark.parametrize("text, reason", [
    ('{"a":NaN}', "NaN"), ('{"a":Infinity}', "Infinity"), ('{"a":-Infinity}', "Infinity"),
    ('{"a":1e999}', "out of range"), ('{"a":"\\ud800"}', "surrogate"), ('{"a":"\\udc00x"}', "surrogate"),
    ('["\\udc00\\ud800"]', "surrogate"), ('{"a":' + "1" * 5000 + "}", "not valid JSON"),
    ('{"a":', "not valid JSON"), ("{'a':1}", "not valid JSON"), (b'{"a":"\xff"}', "UTF-8"),
    (b"\xed\xa0\x80", "UTF-8"),
])
def test_values_json_does_not_have_are_refused(text, reason):
    with pytest.raises(JsonRefused, match=reason):
        jsonparse.loads(text)


def test_a_refusal_is_a_value_error_so_engine_io_treats_it_as_not_json():
    assert issubclass(JsonRefused, ValueError)


# --- REST: every route, before any route runs ---------------------------------------------------

def deep_request(api, method: str, path: str, body: str, content_type: str = "application/json"):
    return api.open(method, path, data=body, headers={"Content-Type": content_type})


@pytest.mark.parametrize("method, path", [("POST", "/api/messages"), ("PUT", "/api/users/preferences"),
                                          ("POST", "/api/auth/login"), ("POST", "/api/community"),
                                          ("GET", "/api/users/profile"), ("DELETE", "/api/messages/reactions")])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 10_000])
def test_the_issues_deep_bodies_are_400_not_500(alice, login_as, method, path, depth):
    body = nested(depth)
    response = deep_request(login_as(alice), method, path, body)
    limit = AUTH_BODY.max_bytes if path.startswith("/api/auth") else JSON_BODY.max_bytes
    if len(body) > limit:  # 20 KB of brackets is over the login's 8 KiB before it is too deep
        assert response.status_code == 413 and response.get_json()["code"] == "PAYLOAD_TOO_LARGE"
        return
    assert response.status_code == 400
    assert response.get_json() == {"statusCode": 400, "error": "Bad Request", "code": "VALIDATION_FAILED",
                                   "message": [f"JSON nested deeper than {MAX_DEPTH} levels"]}


def test_a_duplicated_username_is_refused_not_read_as_the_last_one(alice, client):
    body = '{"username":"nobody","password":"correct horse battery","username":"alice"}'
    response = client.post("/api/auth/login", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "Duplicate key 'username'" in response.get_json()["message"][0]
    assert client.client.get_cookie("refresh_token") is None


def test_a_duplicated_key_in_a_message_stores_nothing(alice, login_as, factory):
    channel = factory.default_channel(factory.community(alice, "Dup"))
    api = login_as(alice)
    body = ('{"channelId":"%s","spans":[{"type":"PLAINTEXT","text":"a"}],"spans":[{"type":"PLAINTEXT","text":"b"}]}'
            % channel.id)
    assert deep_request(api, "POST", "/api/messages", body).status_code == 400
    nested_duplicate = '{"channelId":"%s","spans":[{"type":"PLAINTEXT","text":"a","text":"b"}]}' % channel.id
    assert deep_request(api, "POST", "/api/messages", nested_duplicate).status_code == 400
    assert Message.objects.count() == 0
    ok = '{"channelId":"%s","spans":[{"type":"PLAINTEXT","text":"a"}]}' % channel.id
    assert deep_request(api, "POST", "/api/messages", ok).status_code == 201


@pytest.mark.parametrize("path, method, kind", [
    ("/api/auth/login", "POST", AUTH_BODY), ("/api/users", "POST", AUTH_BODY), ("/api/auth/refresh", "POST", AUTH_BODY),
    ("/api/users/profile/password", "PUT", AUTH_BODY), ("/api/messages", "POST", JSON_BODY),
    ("/api/users/profile", "PATCH", JSON_BODY), ("/api/livekit/webhook", "POST", WEBHOOK_BODY),
])
def test_each_route_class_has_its_size_limit(alice, login_as, path, method, kind):
    api = login_as(alice)

    def body_of(size: int) -> str:
        return '{"pad":"' + "x" * (size - 10) + '"}'

    at_limit, over = body_of(kind.max_bytes), body_of(kind.max_bytes + 1)
    assert len(at_limit) == kind.max_bytes and len(over) == kind.max_bytes + 1
    assert deep_request(api, method, path, at_limit).status_code != 413
    response = deep_request(api, method, path, over)
    assert response.status_code == 413
    assert response.get_json()["message"] == f"Request body over {kind.max_bytes} bytes"
    assert response.get_json()["code"] == "PAYLOAD_TOO_LARGE"


def test_a_chunked_body_without_a_length_is_cut_at_the_limit(alice, login_as, app):
    api = login_as(alice)
    stream = io.BytesIO(b'{"pad":"' + b"x" * (2 * JSON_BODY.max_bytes) + b'"}')
    # a server that de-chunks (gunicorn) marks the input terminated instead of giving a length
    response = app.test_client().open("/api/users/profile", method="PATCH", input_stream=stream,
                                      environ_overrides={"wsgi.input_terminated": True},
                                      headers={"Authorization": f"Bearer {api.token}", "Transfer-Encoding": "chunked",
                                               "Content-Type": "application/json"})
    assert response.status_code == 413, response.get_data()[:300]
    assert response.get_json()["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("body", ["[]", "[1,2]", '"text"', "42", "null", "true"])
def test_a_body_that_is_not_an_object_is_refused_on_any_route(alice, login_as, body):
    api = login_as(alice)
    for method, path in (("PATCH", "/api/users/profile"), ("GET", "/api/users/profile")):
        response = deep_request(api, method, path, body)
        assert response.status_code == 400 and response.get_json()["message"] == ["Request body must be a JSON object"]
    assert User.objects(username="alice").first().display_name == "alice"


def test_an_empty_body_still_counts_as_an_empty_object(alice, login_as):
    api = login_as(alice)
    for body in ("", "   ", "\n"):
        assert deep_request(api, "PATCH", "/api/users/profile", body).status_code == 200


@pytest.mark.parametrize("query", ["limit=2&limit=100", "q=a&q=b", "continuationToken=&continuationToken=x"])
def test_a_query_parameter_given_twice_is_refused(alice, login_as, query):
    route = "/api/users/search" if query.startswith("q") else "/api/users"
    response = login_as(alice).get(f"{route}?{query}")
    assert response.status_code == 400 and "given more than once" in response.get_json()["message"][0]


def test_404_and_405_stay_what_they_are_whatever_the_body(alice, login_as):
    api = login_as(alice)
    assert deep_request(api, "GET", "/api/nowhere", nested(5000)).status_code == 404
    assert deep_request(api, "PUT", "/api/health", '{"a":1,"a":2}').status_code == 405


# --- the rate-limit key of the login route ------------------------------------------------------

@pytest.fixture(scope="module")
def limited(tmp_path_factory, app):
    return create_app(make_settings(data_dir=tmp_path_factory.mktemp("limited-parser"), rate_limits=True))


def _failure_counters() -> dict[str, str]:
    return {key: redis.get(key) for key in redis.client.keys("*kraken:rl/login-user:*")}


@pytest.mark.parametrize("hostile", [nested(10_000), '{"username":"victim","username":"x","password":"p"}',
                                     '{"username":' + nested(50) + ',"password":"p"}'])
def test_the_login_limit_key_never_reads_a_refused_body_and_limits_stay_on_redis(limited, factory, hostile):
    with limited.app_context():
        factory.owner("victim")
    client = limited.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.9.0.1"
    refused = client.post("/api/auth/login", data=hostile, headers={"Content-Type": "application/json"})
    assert refused.status_code in (400, 413)
    # right after it, failures still count per username in Redis (not in a per-process fallback)
    for attempt in range(1, 4):
        assert client.post("/api/auth/login", json={"username": "victim", "password": "guess"}).status_code == 401
        counters = _failure_counters()
        assert counters and set(counters.values()) == {str(attempt)}, counters
