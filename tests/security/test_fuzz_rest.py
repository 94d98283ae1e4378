"""Hostile JSON against every REST route (hypothesis): deep, duplicated, oversized, wide, non-finite,
non-Unicode and non-object bodies are all refused by the one parser (400/413 with the envelope) before
any route runs, as the instance owner with a refresh cookie (who may do anything a body could ask),
on Club's real objects (the `community` fixture), and nothing in the database or Redis changes."""
from __future__ import annotations

import time
import zlib

from hypothesis import HealthCheck, Phase, example, given, seed, settings as hypothesis_settings, strategies as st

from kraken.common.validation import JSON_BODY
from kraken.extensions import redis
from kraken.presence import service as presence
from kraken.voice import store as voice_store
from tests.factories import dump
from tests.security.conftest import path_with_ids
from tests.security.hostile import INVALID_UTF8, hostile_bodies

EXAMPLES_PER_ROUTE = 16
REFUSED = {400: "VALIDATION_FAILED", 413: "PAYLOAD_TOO_LARGE"}
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", None]


def operations(app) -> list[tuple[str, str, str]]:
    """(method, URL rule, endpoint) of every /api route."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api"):
            out += [(method, rule.rule, rule.endpoint) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(out)


def limit_of(app, endpoint: str) -> int:
    """The route's body limit (an upload route's: the JSON one, as a JSON body is no upload)."""
    kind = getattr(app.view_functions[endpoint], "kraken_body_class", JSON_BODY)
    return kind.max_bytes or JSON_BODY.max_bytes


# Keys that change without any request: the cache generations an authenticated request reads into
# being (the upload route, whose multipart body is parsed after authentication, authenticates a
# refused one), and the presence and voice sweepers' locks, which the session's live servers take on
# this Redis DB.
BACKGROUND_KEYS = ("kraken:cache:permgen:", presence.SWEEP_LOCK, voice_store.SWEEP_LOCK)


def redis_keys() -> set[str]:
    return {key for key in redis.client.keys("*") if not key.startswith(BACKGROUND_KEYS)}


def test_every_route_refuses_every_class_of_hostile_body_without_a_side_effect(app, factory, community):
    ids = community.seed_messages().ids
    owner = app.test_client()
    login = owner.post("/api/auth/login", json={"username": "owner", "password": factory.PASSWORD})
    assert login.status_code == 200 and owner.get_cookie("refresh_token")
    auth = {"Authorization": f"Bearer {login.get_json()['accessToken']}"}
    routes = operations(app)
    statuses: dict[int, int] = {}
    classes: dict[str, int] = {}
    started = time.monotonic()
    for method, rule, endpoint in routes:
        path = path_with_ids(rule, ids)
        before, keys_before = dump(), redis_keys()

        # a seed of the route's own: reproducible, and each route gets other examples
        @seed(zlib.crc32(f"{method} {rule}".encode()))
        @hypothesis_settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(body=hostile_bodies(limit_of(app, endpoint)), content_type=st.sampled_from(CONTENT_TYPES))
        # and the examples, on every route: 10,000 levels, a repeated key, one byte too many
        @example(body=("deep", "[" * 10_000), content_type="application/json")
        @example(body=("duplicated", '{"username":"owner","username":"x","password":"p"}'), content_type=None)
        @example(body=("oversized", '{"p":"' + "x" * (limit_of(app, endpoint) - 7) + '"}'),
                 content_type="application/json")
        def run(body, content_type):
            kind, body = body
            classes[kind] = classes.get(kind, 0) + 1
            headers = {**auth, **({"Content-Type": content_type} if content_type else {})}
            response = owner.open(path, method=method, data=body, headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code in REFUSED, (method, path, body[:200], response.status_code,
                                                     response.get_data()[:300])
            envelope = response.get_json()
            assert envelope["code"] == REFUSED[response.status_code] and envelope["statusCode"] == response.status_code

        run()
        for raw in INVALID_UTF8:
            response = owner.open(path, method=method, data=raw, headers={**auth, "Content-Type": "application/json"})
            assert response.status_code == 400, (method, path, raw)
            statuses[400] += 1
            classes["invalid-utf8"] = classes.get("invalid-utf8", 0) + 1
        assert dump() == before, f"{method} {rule}: a refused body changed the database"
        assert redis_keys() == keys_before, f"{method} {rule}: a refused body changed Redis"
    print(f"hostile REST bodies: {sum(statuses.values())} cases over {len(routes)} routes in "
          f"{time.monotonic() - started:.0f} s; classes {classes}; statuses {statuses}, 0 server errors")
    assert len(routes) >= 90 and set(statuses) <= set(REFUSED)
    assert all(classes.get(kind, 0) > len(routes) for kind in ("deep", "duplicated", "oversized", "not-json")), classes
    # the session still works: nothing above was taken as a logout or a refresh
    assert owner.get("/api/users/profile", headers=auth).status_code == 200
    assert owner.post("/api/auth/refresh").status_code == 200
