"""Refused connections say why, as the current client expects (kraken-later-endpoints §11, §10):
`connect_error` AUTH_FAILED (it then refreshes its token and reconnects) and RATE_LIMITED for
attempts over the limit. The live server runs with rate limits on."""
from datetime import timedelta

import pytest
import socketio

from kraken.realtime import limits, names

ATTEMPTS_PER_10_SECONDS = int(limits.CONNECTS.split(" per ")[0])


def refusal(url: str, token: str | None) -> str | None:
    """The `connect_error` message of a refused connection, None when it connected."""
    client = socketio.Client(reconnection=False)
    errors: list = []
    client.on("connect_error", lambda data=None: errors.append(data))
    try:
        client.connect(url, auth={"token": f"Bearer {token}"} if token else None, transports=["websocket"],
                       wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        assert errors, "refused without connect_error"
        return errors[0]["message"] if isinstance(errors[0], dict) else errors[0]
    client.disconnect()
    return None


@pytest.fixture
def tokens(app, factory, token_for):
    from flask_jwt_extended import create_access_token
    from kraken.auth.service import logout, start_session
    from flask_jwt_extended import decode_token
    factory.owner("root")
    alice, bob, gone = factory.user("alice"), factory.user("bob"), factory.user("gone")
    logged_out = start_session(alice).access_token
    logout(None, decode_token(logged_out))
    expired = create_access_token(identity=str(alice.id), expires_delta=timedelta(seconds=-30),
                                  additional_claims={"username": "alice", "role": "USER", "sid": None})
    gone_token = token_for(gone)
    from kraken.users import service as users
    users.set_disabled(str(gone.id), True)
    return {"alice": token_for(alice), "bob": token_for(bob), "logged_out": logged_out, "expired": expired,
            "disabled": gone_token}


@pytest.mark.parametrize("which", [None, "garbage", "forged", "expired", "logged_out", "disabled"])
def test_a_refused_connection_says_auth_failed(live, tokens, which):
    token = {None: None, "garbage": "not-a-jwt", "forged": tokens["alice"][:-4] + "AAAA"}.get(which, tokens.get(which))
    assert refusal(live.url, token) == names.CONNECT_AUTH_FAILED == "AUTH_FAILED"
    assert refusal(live.url, tokens["alice"]) is None  # a valid token still connects


def test_connection_attempts_over_the_limit_say_rate_limited(live, tokens):
    # per user: the same token over and over (a reconnect loop) ...
    attempts = [refusal(live.url, tokens["alice"]) for _ in range(ATTEMPTS_PER_10_SECONDS)]
    assert attempts == [None] * ATTEMPTS_PER_10_SECONDS
    assert refusal(live.url, tokens["alice"]) == names.CONNECT_RATE_LIMITED == "RATE_LIMITED"
    # ... an expired token of the same user counts for that user too (its signature holds)
    assert refusal(live.url, tokens["expired"]) == "RATE_LIMITED"
    # another user on the same IP has a budget of their own
    assert refusal(live.url, tokens["bob"]) is None
    # without a valid signature, attempts count per IP
    forged = [refusal(live.url, "forged-" + str(i)) for i in range(ATTEMPTS_PER_10_SECONDS)]
    assert forged == ["AUTH_FAILED"] * ATTEMPTS_PER_10_SECONDS
    assert refusal(live.url, "forged-again") == "RATE_LIMITED"
    assert refusal(live.url, tokens["bob"]) is None
