"""`GET /api/onboarding/status` (kraken-head-features §12.5): the current web client asks it on
every page load, before anything else, without a token."""


def test_a_new_instance_needs_setup_and_has_no_users(client):
    response = client.get("/api/onboarding/status")
    assert response.status_code == 200
    body = response.get_json()
    assert body["needsSetup"] is True and body["hasUsers"] is False and len(body["setupToken"]) == 36
    assert client.get("/api/onboarding/status").get_json()["setupToken"] == body["setupToken"]  # reused while alive


def test_an_instance_with_users_is_set_up(client, factory):
    factory.owner("root")
    response = client.get("/api/onboarding/status/")  # with or without the trailing slash
    assert response.status_code == 200
    assert response.get_json() == {"needsSetup": False, "hasUsers": True}


def test_it_needs_no_token_and_ignores_a_bad_one(client, factory):
    factory.owner("root")
    response = client.get("/api/onboarding/status", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 200 and response.get_json()["hasUsers"] is True
