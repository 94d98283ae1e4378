"""Web push routes (HF §3.5): the VAPID key, subscriptions per user, status, and errors."""
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests

from kraken.push import keys
from kraken.push.models import PushKeys, PushSubscription
from tests.push.conftest import b64

NOT_CONFIGURED = "Push notifications are not configured on this instance"


def test_the_vapid_key_is_generated_once_and_kept(app, alice, bob, login_as):
    first = login_as(alice).get("/api/push/vapid-public-key")
    assert first.status_code == 200
    body = first.get_json()
    assert body["enabled"] is True
    raw = keys.b64url_decode(body["publicKey"])
    assert len(raw) == 65 and raw[0] == 4  # an uncompressed P-256 point: a browser's applicationServerKey
    assert login_as(bob).get("/api/push/vapid-public-key").get_json() == body
    stored = PushKeys.objects.get(id="vapid")
    assert PushKeys.objects.count() == 1 and stored.public_key == body["publicKey"]
    assert keys.is_pair(stored.public_key, stored.private_key)


def test_processes_starting_together_agree_on_one_key_pair(app):
    """Each racer finds no keys, generates its own pair and inserts it; the first insert wins and
    every racer ends up with the winner's."""
    generated = []
    real = keys.generate

    def generate_and_remember():
        pair = real()
        generated.append(pair)
        return pair

    barrier = Barrier(8)

    def racer(_):
        barrier.wait()
        return keys.stored().public_key

    keys.generate = generate_and_remember
    try:
        with ThreadPoolExecutor(8) as pool:
            seen = set(pool.map(racer, range(8)))
    finally:
        keys.generate = real
    assert len(generated) >= 2, "the racers did not overlap"
    assert len(seen) == 1 and PushKeys.objects.count() == 1
    assert seen == {PushKeys.objects.get(id="vapid").public_key}


def test_keys_from_the_environment_win_and_nothing_is_stored(app, alice, login_as, push_settings):
    public, private = keys.generate()
    push_settings(vapid_public_key=public, vapid_private_key=private)
    assert login_as(alice).get("/api/push/vapid-public-key").get_json() == {"publicKey": public, "enabled": True}
    assert PushKeys.objects.count() == 0


@pytest.mark.parametrize("why", ["push off", "keys that are not a pair"])
def test_without_usable_keys_push_is_disabled_and_subscribing_is_404(app, alice, login_as, push_settings, browser, why):
    if why == "push off":
        push_settings(push="off", push_insecure_endpoints=True)
    else:
        push_settings(vapid_public_key=keys.generate()[0], vapid_private_key=keys.generate()[1],
                      push_insecure_endpoints=True)
    api = login_as(alice)
    assert api.get("/api/push/vapid-public-key").get_json() == {"publicKey": None, "enabled": False}
    assert api.get("/api/push/status").get_json() == {"enabled": False, "subscriptionCount": 0}
    for response in (api.post("/api/push/subscribe", json=browser().subscription()), api.post("/api/push/test")):
        assert response.status_code == 404 and response.get_json()["message"] == NOT_CONFIGURED
    assert PushSubscription.objects.count() == 0 and PushKeys.objects.count() == 0


def test_subscribe_status_and_unsubscribe(app, alice, login_as, push_settings, browser):
    api = login_as(alice)
    phone, laptop = browser("/phone"), browser("/laptop")
    response = api.post("/api/push/subscribe", json=phone.subscription("Firefox"))
    assert response.status_code == 201
    assert response.get_json() == {"success": True, "message": "Successfully subscribed to push notifications"}
    assert api.post("/api/push/subscribe", json=laptop.subscription()).status_code == 201
    assert api.post("/api/push/subscribe", json=phone.subscription("Firefox 2")).status_code == 201  # again: upsert
    assert api.get("/api/push/status").get_json() == {"enabled": True, "subscriptionCount": 2}
    stored = PushSubscription.objects.get(endpoint=phone.endpoint)
    assert (stored.user_id, stored.p256dh, stored.auth, stored.user_agent) == (
        alice.id, phone.keys["p256dh"], phone.keys["auth"], "Firefox 2")

    for _ in range(2):  # idempotent
        response = api.delete("/api/push/unsubscribe", json={"endpoint": phone.endpoint})
        assert response.status_code == 200
        assert response.get_json() == {"success": True, "message": "Successfully unsubscribed from push notifications"}
    assert api.get("/api/push/status").get_json()["subscriptionCount"] == 1


def test_an_endpoint_subscribed_by_another_user_moves_to_them(app, alice, bob, login_as, push_settings, browser):
    shared = browser("/shared-browser")
    alices, bobs = login_as(alice), login_as(bob)
    assert alices.post("/api/push/subscribe", json=shared.subscription()).status_code == 201
    assert bobs.post("/api/push/subscribe", json=shared.subscription()).status_code == 201
    assert alices.get("/api/push/status").get_json()["subscriptionCount"] == 0
    assert bobs.get("/api/push/status").get_json()["subscriptionCount"] == 1
    # alice cannot remove what is now bob's
    assert alices.delete("/api/push/unsubscribe", json={"endpoint": shared.endpoint}).status_code == 200
    assert PushSubscription.objects.get(endpoint=shared.endpoint).user_id == bob.id


def test_two_users_subscribing_one_endpoint_at_once_leave_one_subscription(app, alice, bob, login_as, push_settings,
                                                                           browser):
    shared = browser("/raced")
    clients = [login_as(alice), login_as(bob)] * 4
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda api: api.post("/api/push/subscribe", json=shared.subscription()).status_code,
                              clients))
    assert codes == [201] * 8
    assert PushSubscription.objects(endpoint=shared.endpoint).count() == 1
    assert PushSubscription.objects.get(endpoint=shared.endpoint).user_id in (alice.id, bob.id)



@pytest.mark.parametrize("endpoint", [
    "http://push.example.com/x", "https://localhost/x", "https://127.0.0.1/x", "https://10.1.2.3/x",
    "https://[::1]/x", "https://169.254.169.254/latest", "https://push.example.com:8443/x", "https://intranet/x",
    "https://printer.local/x", "https://localhost./x", "https://metadata.google.internal/x",
    "ftp://push.example.com/x", "https://user:pw@push.example.com/x", "not a url",
])
def test_an_endpoint_the_server_must_not_post_to_is_400(app, alice, login_as, browser, endpoint):
    good = browser().subscription()
    response = login_as(alice).post("/api/push/subscribe", json=good | {"endpoint": endpoint})
    assert response.status_code == 400 and response.get_json()["code"] == "INVALID_PUSH_ENDPOINT"
    assert PushSubscription.objects.count() == 0


def test_a_public_https_endpoint_is_accepted(app, alice, login_as, browser):
    sub = browser().subscription() | {"endpoint": "https://updates.push.services.mozilla.com/wpush/v2/gAAAA"}
    assert login_as(alice).post("/api/push/subscribe", json=sub).status_code == 201


@pytest.mark.parametrize("change", [
    {"keys": {"p256dh": b64(b"\x04" + b"\x01" * 64), "auth": b64(b"a" * 16)}},   # not a point on the curve
    {"keys": {"p256dh": b64(b"\x04" + b"\x01" * 10), "auth": b64(b"a" * 16)}},   # too short
    {"keys": {"p256dh": "***", "auth": b64(b"a" * 16)}},
    {"keys": {"auth": b64(b"a" * 16)}},
    {"keys": "x"},
    {"endpoint": None},
    {"endpoint": {"$ne": None}},
    {"endpoint": "https://push.example.com/" + "x" * 3000},
    {"userAgent": 5},
])
def test_a_malformed_subscription_is_400_and_stores_nothing(app, alice, login_as, push_settings, browser, change):
    response = login_as(alice).post("/api/push/subscribe", json=browser().subscription() | change)
    assert response.status_code == 400 and response.get_json()["statusCode"] == 400
    assert PushSubscription.objects.count() == 0


def test_a_bad_auth_secret_is_400(app, alice, login_as, push_settings, browser):
    sub = browser().subscription()
    sub["keys"]["auth"] = b64(b"short")
    response = login_as(alice).post("/api/push/subscribe", json=sub)
    assert response.status_code == 400 and response.get_json()["code"] == "INVALID_PUSH_KEYS"


@pytest.mark.parametrize("body", [{}, {"endpoint": 3}, None])
def test_unsubscribe_needs_an_endpoint(app, alice, login_as, body):
    assert login_as(alice).delete("/api/push/unsubscribe", json=body).status_code == 400


def test_the_debug_routes_are_the_owners_alone(app, owner, alice, login_as, push_settings, browser):
    mine = browser("/owner")
    owner_api, alices = login_as(owner), login_as(alice)
    assert owner_api.post("/api/push/subscribe", json=mine.subscription("Owner's Firefox")).status_code == 201
    assert alices.post("/api/push/subscribe", json=browser("/alice").subscription()).status_code == 201
    listed = owner_api.get("/api/notifications/debug/subscriptions").get_json()
    assert listed["count"] == 1 and listed["pushEnabled"] is True
    row = listed["subscriptions"][0]
    assert row["endpoint"] == mine.endpoint and row["userId"] == str(owner.id) and row["keys"] == mine.keys
    assert row["userAgent"] == "Owner's Firefox" and set(row) == {"id", "userId", "endpoint", "keys", "userAgent",
                                                                  "createdAt", "updatedAt"}
    for method, path in (("GET", "/api/notifications/debug/subscriptions"), ("POST", "/api/push/debug/send-test")):
        response = alices.open(method, path)
        assert response.status_code == 403 and response.get_json()["message"] == "Debug endpoints are admin-only"


def test_two_processes_asked_at_once_answer_the_same_key(live, live_b, community):
    """Two app processes on an empty push_keys collection, asked together: one pair wins for both."""
    token = community.tokens["member"]
    barrier = Barrier(8)

    def ask(i):
        server = (live, live_b)[i % 2]
        barrier.wait()
        return requests.get(server.url + "/api/push/vapid-public-key", timeout=10,
                            headers={"Authorization": f"Bearer {token}"}).json()["publicKey"]

    with ThreadPoolExecutor(8) as pool:
        answers = set(pool.map(ask, range(8)))
    assert answers == {PushKeys.objects.get(id="vapid").public_key} and PushKeys.objects.count() == 1
