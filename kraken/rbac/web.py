"""The gate at the request: `require_auth`, `require_owner`, `require_actions` (REST routes) and
what they leave for the view (`current_user`, `authorized_resource`)."""
from __future__ import annotations

from enum import Enum
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import g, request
from flask_jwt_extended import current_user as _jwt_current_user, get_jwt, verify_jwt_in_request

from kraken.common.ids import parse_object_id
from kraken.common.permissions import Action
from kraken.common.validation import request_json
from kraken.errors import ForbiddenError, ValidationError
from kraken.rbac.access import access_channel, access_community, access_message, require_instance_actions
from kraken.rbac.grants import is_owner
from kraken.rbac.rules import access_alias_group

F = TypeVar("F", bound=Callable)


def require_auth(fn: F) -> F:
    """Require a valid, unrevoked access token of an active user; raises UnauthorizedError (401)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        verify_jwt_in_request()
        g.user_id = str(_jwt_current_user.id)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def current_user():
    """The authenticated User document (only inside `require_auth`)."""
    return _jwt_current_user._get_current_object()


def current_session_id() -> str | None:
    """The refresh-token family the current access token was issued for."""
    return get_jwt().get("sid")


def require_owner(fn: F) -> F:
    """Only the instance OWNER passes; raises ForbiddenError (403)."""

    @require_auth
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if not is_owner(current_user()):
            raise ForbiddenError()
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Resource(str, Enum):
    COMMUNITY = "COMMUNITY"
    CHANNEL = "CHANNEL"
    MESSAGE = "MESSAGE"
    INSTANCE = "INSTANCE"
    ALIAS_GROUP = "ALIAS_GROUP"


def _resource_id(id_from: str, kwargs: dict[str, Any]) -> str:
    source, _, name = id_from.partition(".")
    if source == "path":
        value = kwargs.get(name)
    elif source == "body":
        value = request_json().get(name)
    elif source == "query":
        value = request.args.get(name)
    else:  # pragma: no cover - a programming error, caught by any test of the route
        raise ValueError(f"bad id_from {id_from!r}")
    if value is None:
        raise ValidationError([f"{name}: field required"])
    try:
        return str(parse_object_id(value))
    except ValidationError:
        raise ValidationError([f"{name}: Invalid ObjectId"], code="INVALID_OBJECT_ID") from None


def require_actions(*actions: Action, resource: Resource, id_from: str | None = None, enter: bool = False):
    """Authenticate, resolve the resource named by `id_from` ("path.x", "body.x", "query.x") and
    check `actions` there. The loaded object is `g.resource`. Raises 400/401/403/404."""

    def decorator(fn: F) -> F:
        @require_auth
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user = current_user()
            if resource is Resource.INSTANCE:
                g.grant = require_instance_actions(user, *actions)
                g.resource = None
            else:
                rid = _resource_id(id_from, kwargs)
                if resource is Resource.COMMUNITY:
                    g.resource = access_community(user, rid, *actions)
                elif resource is Resource.CHANNEL:
                    g.resource = access_channel(user, rid, *actions, enter=enter)
                elif resource is Resource.ALIAS_GROUP:
                    g.resource = access_alias_group(user, rid, *actions)
                else:
                    g.resource = access_message(user, rid, *actions)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def authorized_resource():
    """The object loaded and authorised by `require_actions` for this request."""
    return g.resource
