"""Registration by invite (docs/decisions/0006-registration-by-invite.md, docs/decisions/0012-invites.md,
docs/decisions/0023-first-start-and-operations.md)."""
import pytest

from kraken.invites.models import Invite
from kraken.users.models import User


def register(client, **body):
    return client.post("/api/users/", json=body)


@pytest.fixture
def code(factory):
    return factory.invite().code


def test_first_user_becomes_owner_and_later_ones_users(client, factory):
    first = register(client, username="Founder", password="longenough", code=factory.invite().code)
    assert first.status_code == 201
    body = first.get_json()
    assert body["username"] == "founder" and body["role"] == "OWNER"
    assert set(body) == {"id", "username", "role", "avatarUrl", "lastSeen", "displayName", "bio", "status",
                         "createdAt"}
    second = register(client, username="second", password="longenough", code=factory.invite().code,
                      email="Second@Example.org")
    assert second.status_code == 201 and second.get_json()["role"] == "USER"
    assert "email" not in second.get_json()
    assert User.objects(username="second").first().email == "second@example.org"


def test_duplicate_username_in_another_case_is_409(client, code, factory):
    assert register(client, username="alice", password="longenough", code=code).status_code == 201
    response = register(client, username="ALICE", password="longenough", code=factory.invite().code)
    assert response.status_code == 409
    assert response.get_json()["code"] == "USERNAME_TAKEN"
    assert User.objects.count() == 1


def test_duplicate_email_in_another_case_is_409_but_missing_emails_do_not_collide(client, factory):
    assert register(client, username="a1", password="longenough", code=factory.invite().code,
                    email="a@example.org").status_code == 201
    assert register(client, username="a2", password="longenough", code=factory.invite().code,
                    email="A@EXAMPLE.ORG").status_code == 409
    assert register(client, username="a3", password="longenough", code=factory.invite().code).status_code == 201
    assert register(client, username="a4", password="longenough", code=factory.invite().code,
                    email="").status_code == 201


def test_unknown_invite_is_404_and_creates_nothing(client):
    response = register(client, username="ghost", password="longenough", code="doesnotexist")
    assert response.status_code == 404
    assert response.get_json()["code"] == "INVITE_NOT_FOUND"
    assert User.objects.count() == 0


def test_missing_invite_is_400(client):
    response = register(client, username="ghost", password="longenough")
    assert response.status_code == 400 and response.get_json()["code"] == "INVITE_REQUIRED"


def test_used_up_invite_is_410(client, factory):
    code = factory.invite(max_uses=1).code
    assert register(client, username="one", password="longenough", code=code).status_code == 201
    response = register(client, username="two", password="longenough", code=code)
    assert response.status_code == 410
    invite = Invite.objects(code=code).first()
    assert invite.uses == 1 and invite.used_by_ids == [User.objects(username="one").first().id]
    assert User.objects(username="two").count() == 0


def test_disabled_and_expired_invites_are_410(client, factory):
    from datetime import timedelta
    from kraken.common.time import utcnow
    disabled = factory.invite()
    Invite.objects(id=disabled.id).update_one(set__disabled=True)
    expired = factory.invite(valid_until=utcnow() - timedelta(minutes=1))
    assert register(client, username="x1", password="longenough", code=disabled.code).status_code == 410
    assert register(client, username="x2", password="longenough", code=expired.code).status_code == 410


def test_conflict_does_not_spend_the_invite(client, factory):
    register(client, username="taken", password="longenough", code=factory.invite().code)
    invite = factory.invite(max_uses=1)
    assert register(client, username="taken", password="longenough", code=invite.code).status_code == 409
    assert Invite.objects(id=invite.id).first().uses == 0


def test_long_emoji_password_registers_and_logs_in(client, code):
    password = "🦑🐙" * 120  # 240 characters, 960 bytes: far past bcrypt's 72
    assert register(client, username="squid", password=password, code=code).status_code == 201
    assert client.post("/api/auth/login", json={"username": "squid", "password": password}).status_code == 200
    assert client.post("/api/auth/login", json={"username": "squid",
                                                "password": password[:-1]}).status_code == 401


@pytest.mark.parametrize("body, field", [
    ({"username": "a", "password": "longenough"}, "username"),
    ({"username": "bad name", "password": "longenough"}, "username"),
    ({"username": "x" * 33, "password": "longenough"}, "username"),
    ({"username": "fine", "password": "short"}, "password"),
    ({"username": "fine", "password": "p" * 257}, "password"),
    ({"username": {"$ne": None}, "password": "longenough"}, "username"),
    ({"username": "fine", "password": "longenough", "email": "not-an-email"}, "email"),
    ({"username": "fine", "password": "longenough", "code": ["x"]}, "code"),
])
def test_invalid_registration_is_400_naming_the_field(client, code, body, field):
    response = register(client, **{"code": code, **body})
    assert response.status_code == 400
    assert any(m.startswith(field) for m in response.get_json()["message"]), response.get_json()
    assert User.objects.count() == 0


def test_open_registration_needs_no_invite_and_closed_refuses(app, factory):
    from kraken.users import service
    user = service.register(username="free", password="longenough", email=None, code=None, mode="open")
    assert user.username == "free"
    from kraken.errors import FeatureDisabledError
    with pytest.raises(FeatureDisabledError):
        service.register(username="nope", password="longenough", email=None, code=factory.invite().code,
                         mode="closed")


@pytest.mark.parametrize("email", [
    "alice@example.test", "bob@host.local", "carol@dev.localhost", "dave@router.home.arpa",
    "erin@duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", "frank@example.org",
    "Grace.Hopper+kraken@Sub.Example.Test",
])
def test_syntactically_valid_addresses_are_accepted_also_on_special_use_domains(client, code, email):
    response = register(client, username="someone", password="longenough", code=code, email=email)
    assert response.status_code == 201, response.get_json()
    assert User.objects(username="someone").first().email == email.lower()


@pytest.mark.parametrize("email", [
    "not-an-email", "alice@", "@example.test", "alice@@example.test", "alice@example..test",
    "alice example@example.test", "alice@host", "alice@localhost", "alice@example.123", "alice@-host.local",
    "alice@[127.0.0.1]", "alice@nothing.invalid", "a" * 250 + "@example.test",
    ["alice@example.test"], 42,
])
def test_malformed_addresses_are_refused_with_400_naming_email(client, code, email):
    response = register(client, username="someone", password="longenough", code=code, email=email)
    assert response.status_code == 400, (email, response.get_json())
    assert any(m.startswith("email") for m in response.get_json()["message"]), response.get_json()
    assert User.objects.count() == 0


def test_create_owner_validates_the_email_as_registration_does(app):
    from kraken.common.validation import validate
    from kraken.errors import ValidationError
    from kraken.users.schemas import RegisterIn
    assert validate(RegisterIn, {"username": "root", "password": "longenough",
                                 "email": "root@kraken.local"}).email == "root@kraken.local"
    with pytest.raises(ValidationError):
        validate(RegisterIn, {"username": "root", "password": "longenough", "email": "root@kraken"})
