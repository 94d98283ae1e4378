"""App core: root and health routes, the error envelope, request tolerance, CORS, request ids, logs."""
import io
import json
import logging


def test_root_says_hello(client):
    response = client.get("/api")
    assert response.status_code == 200
    assert response.data == b"Hello World!"


def test_health_pings_database_and_redis(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["info"]["database"] == {"status": "up"}
    assert body["info"]["redis"] == {"status": "up"}
    assert client.get("/api/health/live").get_json() == {"status": "ok"}


def test_unknown_route_uses_the_envelope(client):
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.get_json() == {"statusCode": 404, "error": "Not Found", "message": "Not Found",
                                   "code": "NOT_FOUND"}


def test_wrong_method_uses_the_envelope(client):
    response = client.delete("/api/health")
    assert response.status_code == 405
    assert response.get_json()["code"] == "METHOD_NOT_ALLOWED"


def test_trailing_slash_reaches_the_same_route(client, factory, login_as):
    factory.owner()
    api = login_as(factory.user("alice"))
    assert api.get("/api/users/profile/").get_json()["username"] == "alice"
    assert api.get("/api/health/").status_code == 200


def test_empty_body_with_json_content_type_is_an_empty_object(client):
    response = client.post("/api/auth/login", data=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["code"] == "VALIDATION_FAILED"
    assert any("username" in m for m in response.get_json()["message"])


def test_invalid_json_is_a_400_envelope(client):
    response = client.post("/api/auth/login", data=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["message"] == ["Request body is not valid JSON"]


def test_unknown_body_keys_are_ignored(client, factory):
    factory.owner("boss")
    response = client.post("/api/auth/login", json={"username": "boss", "password": factory.PASSWORD,
                                                    "extra": {"$where": "1"}, "id": "x"})
    assert response.status_code == 200


def test_malformed_object_id_in_path_is_400(client, factory, login_as):
    factory.owner()
    api = login_as(factory.user("bob"))
    response = api.get("/api/users/not-an-id")
    assert response.status_code == 400
    assert response.get_json() == {"statusCode": 400, "error": "Bad Request", "message": "Invalid ObjectId",
                                   "code": "INVALID_OBJECT_ID"}
    assert api.get("/api/users/" + "a" * 24).status_code == 404


def test_request_id_is_honoured_or_generated(client):
    assert client.get("/api", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/api", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert generated != "bad id with spaces" and len(generated) == 32


def test_cors_allows_configured_origins_with_credentials(client):
    response = client.open("OPTIONS", "/api/users/profile", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    foreign = client.get("/api", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_each_request_is_logged_as_json_with_timing(client):
    root_handler = logging.getLogger().handlers[0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root_handler.formatter)
    for f in root_handler.filters:
        handler.addFilter(f)
    access = logging.getLogger("kraken.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        client.get("/api/health", headers={"X-Request-ID": "log-check-1"})
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if "log-check-1" in line]
    assert lines, "no access log line for the request"
    record = lines[0]
    assert record["path"] == "/api/health" and record["status"] == 200 and record["method"] == "GET"
    assert record["request_id"] == "log-check-1" and record["level"] == "INFO"
    assert isinstance(record["duration_ms"], float)
    assert record["time"].endswith("Z")


def test_instance_features_are_public(client):
    body = client.get("/api/instance/features").get_json()
    assert body["registration"] == "invite"
    assert body["communityCreation"] == "everyone"
    assert body["uploads"]["enabled"] is True
