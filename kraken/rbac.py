"""Permissions in one place: the action enum, role templates, `require_*` decorators and `access_*` loaders.

This file holds the foundation: the action names (a typo fails at import), the
authentication decorator and the current-user accessors. The community
resolver and loaders build on these.
"""
from __future__ import annotations

from enum import Enum
from functools import wraps
from typing import Callable, TypeVar

from flask import g
from flask_jwt_extended import current_user as _jwt_current_user, get_jwt, verify_jwt_in_request

from kraken.errors import ForbiddenError

F = TypeVar("F", bound=Callable)


class Action(str, Enum):
    """The contract's 43 RbacActions plus UPDATE_MESSAGE and MANAGE_VOICE (decisions §3)."""

    DELETE_MESSAGE = "DELETE_MESSAGE"
    DELETE_CHANNEL = "DELETE_CHANNEL"
    DELETE_COMMUNITY = "DELETE_COMMUNITY"
    DELETE_INVITE = "DELETE_INVITE"
    DELETE_USER = "DELETE_USER"
    DELETE_ROLE = "DELETE_ROLE"
    DELETE_ALIAS_GROUP = "DELETE_ALIAS_GROUP"
    DELETE_ALIAS_GROUP_MEMBER = "DELETE_ALIAS_GROUP_MEMBER"
    DELETE_INSTANCE_INVITE = "DELETE_INSTANCE_INVITE"
    DELETE_MEMBER = "DELETE_MEMBER"
    DELETE_REACTION = "DELETE_REACTION"
    DELETE_ATTACHMENT = "DELETE_ATTACHMENT"
    CREATE_MESSAGE = "CREATE_MESSAGE"
    CREATE_CHANNEL = "CREATE_CHANNEL"
    CREATE_COMMUNITY = "CREATE_COMMUNITY"
    CREATE_INVITE = "CREATE_INVITE"
    CREATE_USER = "CREATE_USER"
    CREATE_ROLE = "CREATE_ROLE"
    CREATE_ALIAS_GROUP = "CREATE_ALIAS_GROUP"
    CREATE_ALIAS_GROUP_MEMBER = "CREATE_ALIAS_GROUP_MEMBER"
    CREATE_INSTANCE_INVITE = "CREATE_INSTANCE_INVITE"
    CREATE_MEMBER = "CREATE_MEMBER"
    CREATE_REACTION = "CREATE_REACTION"
    CREATE_ATTACHMENT = "CREATE_ATTACHMENT"
    JOIN_CHANNEL = "JOIN_CHANNEL"
    READ_MESSAGE = "READ_MESSAGE"
    READ_CHANNEL = "READ_CHANNEL"
    READ_COMMUNITY = "READ_COMMUNITY"
    READ_ALL_COMMUNITIES = "READ_ALL_COMMUNITIES"
    READ_USER = "READ_USER"
    READ_ROLE = "READ_ROLE"
    READ_ALIAS_GROUP = "READ_ALIAS_GROUP"
    READ_ALIAS_GROUP_MEMBER = "READ_ALIAS_GROUP_MEMBER"
    READ_INSTANCE_INVITE = "READ_INSTANCE_INVITE"
    READ_MEMBER = "READ_MEMBER"
    UPDATE_COMMUNITY = "UPDATE_COMMUNITY"
    UPDATE_CHANNEL = "UPDATE_CHANNEL"
    UPDATE_USER = "UPDATE_USER"
    UPDATE_ROLE = "UPDATE_ROLE"
    UPDATE_ALIAS_GROUP = "UPDATE_ALIAS_GROUP"
    UPDATE_ALIAS_GROUP_MEMBER = "UPDATE_ALIAS_GROUP_MEMBER"
    UPDATE_INSTANCE_INVITE = "UPDATE_INSTANCE_INVITE"
    UPDATE_MEMBER = "UPDATE_MEMBER"
    UPDATE_MESSAGE = "UPDATE_MESSAGE"
    MANAGE_VOICE = "MANAGE_VOICE"


class InstanceRole(str, Enum):
    OWNER = "OWNER"
    USER = "USER"


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


def is_owner(user) -> bool:
    return user.role == InstanceRole.OWNER.value


def require_owner(fn: F) -> F:
    """Only the instance OWNER passes; raises ForbiddenError (403)."""

    @require_auth
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if not is_owner(current_user()):
            raise ForbiddenError()
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
