"""`/api/openapi.json` and `/api/docs`: every route documented, a valid OpenAPI 3.1 document,
its security claims true, and a schemathesis run that finds no 5xx and no response that
breaks the document, with a real token in a populated instance (Club, the `community` fixture)."""
from __future__ import annotations

import copy
import re
import time

import pytest
import schemathesis
from bson import ObjectId
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from kraken.common.ids import ObjectIdConverter
from kraken.openapi import build_document
from tests.factories import Factory

SPEC_URL = "/api/openapi.json"
IGNORED = {"HEAD", "OPTIONS"}


def routes_of(app: Flask) -> set[str]:
    """"METHOD /path/{arg}" for every registered /api route, read from the URL map itself."""
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api") or rule.rule.startswith("/socket.io"):
            continue
        path = re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule.rule)
        out |= {f"{method} {path}" for method in rule.methods - IGNORED}
    return out


def documented(document: dict) -> set[str]:
    return {f"{method.upper()} {path}" for path, methods in document["paths"].items() for method in methods}


@pytest.fixture
def document(client) -> dict:
    response = client.get(SPEC_URL)
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_every_registered_route_is_in_the_document(app, document):
    routes = routes_of(app)
    assert {"POST /api/auth/login", "GET /api/channels/{channel_id}", "GET /api/openapi.json"} <= routes
    missing = sorted(routes - documented(document))
    assert not missing, ("routes missing from /api/openapi.json; describe them in "
                         f"kraken/openapi_spec.py OPERATIONS: {missing}")
    assert documented(document) == routes, "the document describes only routes that exist"


def test_an_undocumented_route_is_reported_missing():
    app = Flask(__name__)
    app.url_map.converters["oid"] = ObjectIdConverter
    app.add_url_rule("/api/health/live", "health.live", lambda: {"status": "ok"})
    app.add_url_rule("/api/widgets/<oid:widget_id>", "widgets.get_widget", lambda widget_id: {})
    document, missing = build_document(app)
    assert missing == ["GET /api/widgets/{widget_id} (widgets.get_widget)"]
    assert routes_of(app) - documented(document) == {"GET /api/widgets/{widget_id}"}


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)
    broken = copy.deepcopy(document)
    broken["paths"]["/api/channels/{channel_id}"]["get"]["parameters"][0]["in"] = "body"  # Swagger 2, not 3.x
    with pytest.raises(OpenAPIValidationError):
        validate(broken, cls=OpenAPIV31SpecValidator)


def test_schemas_come_from_the_pydantic_models(document):
    schemas = document["components"]["schemas"]
    login = document["paths"]["/api/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/LoginIn"}
    assert schemas["LoginIn"]["properties"]["username"]["maxLength"] == 64
    assert schemas["ChannelIn"]["properties"]["communityId"]["pattern"] == "^[0-9a-fA-F]{24}$"
    assert set(schemas["ErrorOut"]["required"]) == {"statusCode", "error", "message", "code"}
    path = document["paths"]["/api/channels/{channel_id}"]["get"]
    assert path["parameters"][0] == {"name": "channel_id", "in": "path", "required": True,
                                     "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}}
    for response in ("4XX", "5XX"):
        assert response in path["responses"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: str(ObjectId()) if m.group(0) != "{code}" else "nocode00", path)


def test_security_claims_hold_without_credentials(client, document):
    """Operations that need a token answer 401 without one; public ones never ask for it."""
    checked = 0
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            response = client.open(method.upper(), _fill(path), json={})
            security = operation.get("security", document["security"])
            if security == []:
                assert response.status_code != 401, f"{method} {path} is documented public"
            elif {} not in security:
                assert response.status_code == 401, f"{method} {path}: {response.status_code}"
                if security == document["security"]:
                    assert response.get_json()["code"] == "UNAUTHORIZED"
            checked += 1
    assert checked == len(documented(document))


def test_docs_page_lists_every_operation_and_links_the_document(client, document):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f'href="{SPEC_URL}"' in page
    for path in document["paths"]:
        assert f"<code>{path}</code>" in page, path
    # the interactive viewer is optional, pinned and integrity-checked; nothing is vendored
    assert re.search(r'<script src="https://[^"]+redoc@[\d.]+/[^"]+" integrity="sha384-[^"]+"', page)


# --- schemathesis ----------------------------------------------------------------------------------

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# (identity, mode, examples per operation, path ids of Club's objects instead of generated ones)
PASSES = [("owner", GenerationMode.POSITIVE, 12, True), ("member", GenerationMode.POSITIVE, 4, True),
          ("owner", GenerationMode.POSITIVE, 4, False), ("owner", GenerationMode.NEGATIVE, 8, False)]
KNOWN_GOOD_EXAMPLES = 3
SPANS = [{"type": "PLAINTEXT", "text": "fuzz"}]


def _real_path_parameters(path: str, ids: dict[str, str]) -> dict[str, str]:
    """Ids of Club's objects (the `community` fixture), so generated requests reach real data, not only 404s."""
    role = ids["IA"] if path.startswith("/api/roles/instance") else ids["R"]
    channel = ids["VOICE"] if "voice" in path or "/livekit/" in path else ids["G"]
    group = ids["AG"] if path.startswith("/api/alias-groups") else ids["DMG"]  # an alias group or a DM group
    values = {"community_id": ids["C"], "channel_id": channel, "message_id": ids["MG"],
              "user_id": ids["member"], "role_id": role, "code": ids["CI"], "name": "member",
              "ids": f"{ids['member']},{ids['admin']}", "group_id": group}
    return {name: values[name] for name in re.findall(r"\{([^}]+)\}", path) if name in values}


def _known_good(ids: dict[str, str]) -> dict[str, tuple[str, dict]]:
    """Bodies that refer to real objects (random ids only ever reach 404): label -> (identity, body)."""
    return {
        "POST /api/messages": ("member", {"channelId": ids["G"], "spans": SPANS}),
        "PATCH /api/messages/{message_id}": ("member", {"spans": SPANS}),
        "POST /api/direct-messages": ("member", {"userIds": [ids["stranger"]]}),
        "POST /api/direct-messages/{group_id}/members": ("member", {"userIds": [ids["stranger"]]}),
        "POST /api/messages/reactions": ("member", {"messageId": ids["MG"], "emoji": "+1"}),
        "DELETE /api/messages/reactions": ("member", {"messageId": ids["MG"], "emoji": "+1"}),
        "POST /api/channels": ("admin", {"name": "fuzzed", "communityId": ids["C"], "type": "TEXT"}),
        "POST /api/membership": ("admin", {"userId": ids["stranger"], "communityId": ids["C"]}),
        "POST /api/channel-membership": ("admin", {"userId": ids["member"], "channelId": ids["P"]}),
        "POST /api/roles/community/{community_id}/assign": ("admin", {"userId": ids["member"], "roleId": ids["R"]}),
        "POST /api/roles/instance/{role_id}/assign": ("owner", {"userId": ids["member"]}),
        "POST /api/auth/login": ("owner", {"username": "member", "password": Factory.PASSWORD}),
        "POST /api/users": ("owner", {"username": "newcomer", "password": Factory.PASSWORD, "code": ids["II"]}),
        "POST /api/livekit/token": ("member", {"roomId": ids["VOICE"]}),
        "POST /api/livekit/dm-token": ("member", {"roomId": ids["DMG"]}),
        "PUT /api/channels/{channel_id}/voice-presence/state": ("member", {"isMuted": True}),
    }


def test_the_checks_catch_a_response_that_breaks_the_document(app, factory, document):
    """Not vacuous: with a document that says `username` is an integer, the profile fails the check."""
    token = factory.token(factory.owner("root"))
    broken = copy.deepcopy(document)
    broken["components"]["schemas"]["ProfileOut"]["properties"]["username"] = {"type": "integer"}
    for doc, should_fail in ((document, False), (broken, True)):
        schema = schemathesis.openapi.from_dict(copy.deepcopy(doc))
        schema.app = app
        case = schema["/api/users/profile"]["GET"].Case(headers={"Authorization": f"Bearer {token}"})
        response = case.call()
        assert response.status_code == 200
        if should_fail:
            with pytest.raises(FailureGroup, match="username"):
                case.validate_response(response, checks=CHECKS)
        else:
            case.validate_response(response, checks=CHECKS)


def test_schemathesis_finds_no_server_errors_or_schema_violations(app, community):
    """Every operation, as the instance owner and as a member, with valid and invalid input."""
    community.seed_messages().seed_alias_group().freeze()
    known_good = _known_good(community.ids)
    schema = schemathesis.openapi.from_wsgi(SPEC_URL, app)
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    cases = 0
    started = time.monotonic()

    def exercise(operation, strategy, examples: int, identity: str) -> None:
        auth = {"Authorization": f"Bearer {community.tokens[identity]}"}

        @hypothesis_settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case):
            nonlocal cases
            cases += 1
            response = case.call(headers=auth)
            statuses.setdefault(operation.label, set()).add(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS, headers=auth)
            except FailureGroup as group:
                failures.append(f"{operation.label} as {identity}: {group}")
        run()

    for result in schema.get_all_operations():
        operation = result.ok()
        community.restore()  # destructive operations must not starve the next ones
        real_ids = _real_path_parameters(operation.path, community.ids)
        for identity, mode, examples, use_real_ids in PASSES:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=real_ids if use_real_ids else None)
            try:
                exercise(operation, strategy, examples, identity)
            except Unsatisfiable:  # nothing to negate: an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE, operation.label
        if operation.label in known_good:
            identity, body = known_good[operation.label]
            community.restore()
            strategy = operation.as_strategy(path_parameters=real_ids, body=body)
            exercise(operation, strategy, KNOWN_GOOD_EXAMPLES, identity)

    summary = (f"schemathesis {schemathesis.__version__}: {cases} cases over {len(statuses)} operations "
               f"in {time.monotonic() - started:.0f} s, {len(failures)} failures")
    print(summary)
    assert not failures, summary + "\n\n" + "\n\n".join(failures[:20])
    # schemathesis leaves out the document it was loaded from; everything else was exercised ...
    assert documented(app.test_client().get(SPEC_URL).get_json()) - set(statuses) == {f"GET {SPEC_URL}"}
    # ... and the known-good requests succeeded, so their success schemas were checked too
    not_ok = [label for label in known_good if not any(200 <= code < 300 for code in statuses[label])]
    assert not not_ok, {label: statuses[label] for label in not_ok}
    succeeded = [label for label, codes in statuses.items() if any(200 <= code < 300 for code in codes)]
    assert len(succeeded) >= 0.8 * len(statuses), sorted(set(statuses) - set(succeeded))
