"""`GET /api/openapi.json` (OpenAPI 3.1, generated) and `GET /api/docs` (a page to read it).

The document is built from the app itself: every rule of the URL map under `/api`
becomes an operation, with its schemas taken from `kraken.openapi_spec.OPERATIONS`
(the pydantic models the routes validate and serialise with). Nothing is written by
hand, so the document cannot drift from the routes without a test noticing.
"""
from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, get_args

from flask import Blueprint, Flask, current_app, url_for
from markupsafe import escape
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from werkzeug.routing import Rule

from kraken.common.ids import ObjectIdConverter, ObjectIdStr
from kraken.openapi_spec import OPERATIONS, ErrorOut, Many, Multipart, Op, Raw

bp = Blueprint("openapi", __name__, url_prefix="/api")

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
OBJECT_ID = {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}
REF = "#/components/schemas/{model}"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
SECURITY = {
    "bearer": [{"bearerAuth": []}],
    "public": [],
    "cookie": [{"refreshCookie": []}],
    "optional": [{}, {"bearerAuth": []}, {"refreshCookie": []}],
    "webhook": [{"livekitSignature": []}],
}
# Redoc from a CDN, pinned with Subresource Integrity. Nothing is vendored: offline, the page
# keeps its server-rendered list of operations.
REDOC_URL = "https://cdn.jsdelivr.net/npm/redoc@2.5.0/bundles/redoc.standalone.js"
REDOC_SRI = "sha384-4vOjrBu7SuDWXcAw1qFznVLA/sKL+0l4nn+J1HY8w7cpa6twQEYuh4b0Cwuo7CyX"
_CHECK_OBJECT_ID = get_args(ObjectIdStr)[1].func  # the AfterValidator behind ObjectIdStr


class _KrakenJsonSchema(GenerateJsonSchema):
    """pydantic's generator, plus: a field validated as an ObjectId says so with a pattern."""

    def function_after_schema(self, schema) -> dict[str, Any]:
        if schema["function"].get("function") is _CHECK_OBJECT_ID:
            return dict(OBJECT_ID)
        return super().function_after_schema(schema)


def api_rules(app: Flask) -> list[tuple[str, str, Rule]]:
    """(METHOD, OpenAPI path, rule) for every route the document must describe."""
    out = []
    for rule in app.url_map.iter_rules():
        if not (rule.rule == "/api" or rule.rule.startswith("/api/")) or rule.rule.startswith("/socket.io"):
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            out.append((method, openapi_path(rule), rule))
    return sorted(out, key=lambda item: (item[1], item[0]))


def openapi_path(rule: Rule) -> str:
    """`/api/channels/<oid:channel_id>` -> `/api/channels/{channel_id}`."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule.rule)


def _path_parameter(rule: Rule, name: str) -> dict[str, Any]:
    converter = rule._converters[name]  # werkzeug keeps no public map of a rule's converters
    if isinstance(converter, ObjectIdConverter):
        schema = dict(OBJECT_ID)
    elif converter.regex in ("\\d+",):
        schema = {"type": "integer", "minimum": 0}
    else:
        schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
        if m := re.fullmatch(r"\[\^/\]\{(\d+),(\d*)\}", converter.regex):
            schema["minLength"] = int(m.group(1))
            if m.group(2):
                schema["maxLength"] = int(m.group(2))
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query string cannot carry null: drop that branch of an optional field."""
    branches = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
    if len(branches) == 1 and len(schema.get("anyOf", [])) == 2:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return {**branches[0], **rest}
    return {k: v for k, v in schema.items() if not (k == "default" and v is None)}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(schema_generator=_KrakenJsonSchema)
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": _without_null(prop)}
            for name, prop in schema["properties"].items()]


class _Components:
    """Collects the models an operation names, then renders them all as components at once."""

    def __init__(self) -> None:
        self.models: dict[tuple[type[BaseModel], str], None] = {}
        self.refs: dict[tuple[type[BaseModel], str], dict] = {}

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        key = (model, mode)
        self.models[key] = None
        return {"$ref": key}  # placeholder, resolved by `resolve`

    def render(self) -> dict[str, Any]:
        refs, defs = models_json_schema(list(self.models), ref_template=REF, schema_generator=_KrakenJsonSchema)
        # Two models of one name (auth's and messages' MessageOut) get module-qualified names
        # from pydantic; shorten them to `<feature>.<Model>`.
        renames = {REF.format(model=name): REF.format(model=_short_name(name))
                   for name in defs.get("$defs", {}) if name != _short_name(name)}
        self.refs = {key: _rename_refs(value, renames) for key, value in refs.items()}
        return {_short_name(name): _rename_refs(schema, renames) for name, schema in defs.get("$defs", {}).items()}

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), tuple):
                return self.refs[node["$ref"]]
            return {k: self.resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        return node


def _short_name(name: str) -> str:
    """`kraken__messages__schemas__MessageOut` -> `messages.MessageOut`; other names unchanged."""
    parts = name.split("__")
    return f"{parts[1]}.{parts[-1]}" if len(parts) > 2 and parts[0] == "kraken" else name


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: renames.get(v, v) if k == "$ref" and isinstance(v, str) else _rename_refs(v, renames)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


def _content(body: Any, components: _Components) -> dict[str, Any] | None:
    if body is None:
        return None
    if isinstance(body, Raw):
        return {body.media_type: {"schema": body.schema}}
    if isinstance(body, Many):
        return {"application/json": {"schema": {"type": "array",
                                                "items": components.ref(body.model, "serialization")}}}
    return {"application/json": {"schema": components.ref(body, "serialization")}}


def _request_body(op: Op, components: _Components) -> dict[str, Any] | None:
    if op.body is None:
        return None
    if isinstance(op.body, Raw):
        return {"required": True, "content": {op.body.media_type: {"schema": op.body.schema}}}
    if isinstance(op.body, Multipart):
        schema = op.body.fields.model_json_schema(schema_generator=_KrakenJsonSchema)
        properties = {**{name: _without_null(prop) for name, prop in schema["properties"].items()},
                      **{name: {"type": "string", "format": "binary"}
                                                 for name in op.body.files}}
        required = [*schema.get("required", []), *op.body.files]
        return {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": properties, "required": required}}}}
    return {"required": True, "content": {"application/json": {"schema": components.ref(op.body, "validation")}}}


def _summary(view: Any, op: Op) -> tuple[str, str | None]:
    doc = (view.__doc__ or "").strip()
    summary = op.summary or (doc.splitlines()[0] if doc else view.__name__.replace("_", " ").capitalize())
    return summary, doc if doc and doc != summary else None


def _operation(app: Flask, method: str, rule: Rule, op: Op, components: _Components) -> dict[str, Any]:
    view = app.view_functions[rule.endpoint]
    summary, description = _summary(view, op)
    operation: dict[str, Any] = {"operationId": f"{rule.endpoint}.{method.lower()}"
                                 if len(rule.methods - IGNORED_METHODS) > 1 else rule.endpoint,
                                 "tags": [rule.endpoint.split(".")[0]], "summary": summary}
    if description:
        operation["description"] = description
    parameters = [_path_parameter(rule, name) for name in sorted(rule.arguments)]
    if op.query is not None:
        parameters += _query_parameters(op.query)
    parameters += [{"name": name, "in": "header", "required": False, "description": text,
                    "schema": {"type": "string"}} for name, text in op.headers.items()]
    if parameters:
        operation["parameters"] = parameters
    if (body := _request_body(op, components)) is not None:
        operation["requestBody"] = body
    responses: dict[str, Any] = {}
    for status, body in op.responses.items():
        response: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "Success")}
        if (content := _content(body, components)) is not None:
            response["content"] = content
        responses[str(status)] = response
    if parameters or op.body is not None:
        responses.setdefault("400", {"$ref": "#/components/responses/BadRequest"})
    if op.auth in ("bearer", "cookie", "webhook"):
        responses.setdefault("401", {"$ref": "#/components/responses/Unauthorized"})
    responses.setdefault("4XX", {"$ref": "#/components/responses/ClientError"})
    responses.setdefault("5XX", {"$ref": "#/components/responses/ServerError"})
    operation["responses"] = responses
    if op.auth != "bearer":
        operation["security"] = SECURITY[op.auth]
    return operation


_STATUS_TEXT = {200: "OK", 201: "Created", 204: "No content", 206: "Partial content (one byte range)",
                304: "Not modified", 503: "A dependency is down"}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}}}


def build_document(app: Flask) -> tuple[dict[str, Any], list[str]]:
    """(the OpenAPI document, "METHOD path" of the routes OPERATIONS does not describe)."""
    components = _Components()
    components.ref(ErrorOut, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    missing = []
    for method, path, rule in api_rules(app):
        op = OPERATIONS.get(rule.endpoint)
        if op is None:
            missing.append(f"{method} {path} ({rule.endpoint})")
            continue
        paths.setdefault(path, {})[method.lower()] = _operation(app, method, rule, op, components)
    schemas = components.render()
    document = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Kraken API", "version": API_VERSION,
                 "description": "REST API of a Kraken chat server. Errors share one envelope "
                                "(`ErrorOut`); real-time events go over Socket.IO at `/socket.io/`."},
        "servers": [{"url": "/"}],
        "tags": sorted(({"name": tag} for tag in {p.split(".")[0] for p in OPERATIONS}), key=lambda t: t["name"]),
        "paths": components.resolve(paths),
        "components": {
            "schemas": schemas,
            "responses": {
                "BadRequest": _error_response("Invalid input (`message` lists what is wrong)"),
                "Unauthorized": _error_response("Missing, expired or revoked credentials"),
                "ClientError": _error_response("Refused (403, 404, 409, 410, 413, 429, ...)"),
                "ServerError": _error_response("Server error or a dependency is unavailable (503)"),
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                               "description": "The accessToken from POST /api/auth/login or /api/auth/refresh"},
                "refreshCookie": {"type": "apiKey", "in": "cookie", "name": "refresh_token",
                                  "description": "The HttpOnly refresh cookie set by login and refresh"},
                "livekitSignature": {"type": "apiKey", "in": "header", "name": "Authorization",
                                     "description": "LiveKit's webhook JWT (API key and secret), whose "
                                                    "sha256 claim covers the raw body"},
            },
        },
        "security": SECURITY["bearer"],
    }
    return document, missing


def document_for(app: Flask) -> dict[str, Any]:
    """The app's document, built once (the URL map is fixed after start-up)."""
    cached = app.extensions.get("kraken.openapi")
    if cached is None:
        cached, missing = build_document(app)
        if missing:
            app.logger.warning("routes missing from the OpenAPI document: %s", ", ".join(missing))
        app.extensions["kraken.openapi"] = cached
    return cached


@bp.get("/openapi.json")
def get_openapi():
    """The OpenAPI 3.1 document of this API, generated from the routes and their schemas."""
    return document_for(current_app)


@bp.get("/docs")
def get_docs():
    """A page listing every operation; it turns into Redoc when the browser can load it."""
    document = document_for(current_app)
    rows = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            public = operation.get("security") == []
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(operation['summary'])}</td><td>{'public' if public else 'token'}</td></tr>")
    spec_url = url_for("openapi.get_openapi")
    init_script = _INIT_SCRIPT.format(spec_url=escape(spec_url))
    html = _DOCS_PAGE.format(spec_url=escape(spec_url), rows="\n".join(rows), redoc_url=REDOC_URL,
                             redoc_sri=REDOC_SRI, version=escape(document["info"]["version"]),
                             init_script=init_script)
    return html, 200, {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": docs_csp(init_script)}


def docs_csp(init_script: str) -> str:
    """The docs page's policy: scripts only from Redoc's pinned URL and the page's one inline script
    (by its hash); Redoc's injected styles, its search worker (a blob:) and the document it fetches
    from here; never framed."""
    digest = base64.b64encode(hashlib.sha256(init_script.encode()).digest()).decode()
    return "; ".join([
        "default-src 'none'", f"script-src {REDOC_URL} 'sha256-{digest}'", "style-src 'unsafe-inline'",
        "img-src 'self' data:", "font-src data:", "connect-src 'self'", "worker-src blob:",
        "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"])


_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kraken API</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; }}
main {{ max-width: 70rem; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
</style>
</head>
<body>
<div id="redoc"></div>
<main id="fallback">
<h1>Kraken API {version}</h1>
<p>The machine-readable description is the OpenAPI 3.1 document at
<a href="{spec_url}">{spec_url}</a>; load it into any OpenAPI viewer or client generator.
Send <code>Authorization: Bearer &lt;accessToken&gt;</code> (from <code>POST /api/auth/login</code>)
to the operations marked <em>token</em>. Errors use one JSON envelope:
<code>{{statusCode, error, message, code}}</code>.</p>
<table>
<thead><tr><th>Method</th><th>Path</th><th>Summary</th><th>Auth</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</main>
<script src="{redoc_url}" integrity="{redoc_sri}" crossorigin="anonymous"></script>
<script>{init_script}</script>
</body>
</html>
"""
# the page's only inline script, allowed by its hash (docs_csp)
_INIT_SCRIPT = """
if (window.Redoc) {{
  document.getElementById("fallback").hidden = true;
  Redoc.init("{spec_url}", {{}}, document.getElementById("redoc"));
}}
"""
