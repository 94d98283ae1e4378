"""User routes (contract §5.3; docs/decisions/0006-registration-by-invite.md,
docs/decisions/0035-profiles-and-account-administration.md)."""
from __future__ import annotations

from flask import Blueprint

from kraken import ratelimits
from kraken.auth import service as auth
from kraken.instance import service as instance
from kraken.common.validation import AUTH_BODY, body_class, parse_body, parse_query, request_json, validate
from kraken.rbac import Action, access_community, current_session_id, current_user, require_auth, require_owner
from kraken.users import service
from kraken.users.schemas import (PasswordChangeIn, PreferencesIn, ProfileOut, ProfileUpdateIn, RegisterIn,
                                  UserListQuery, UserOut, UserSearchQuery)

bp = Blueprint("users", __name__, url_prefix="/api/users")


@bp.post("")
@ratelimits.limit(ratelimits.REGISTER_PER_IP, key_func=ratelimits.ip_key)
@body_class(AUTH_BODY)
def register_user():
    body = parse_body(RegisterIn)
    # the stored registrationMode decides, not the environment's first value (decision 0063)
    user = service.register(username=body.username, password=body.password, email=body.email,
                            code=body.code, mode=instance.registration_mode().lower().replace("invite_only", "invite"))
    return UserOut.of(user), 201


@bp.get("/profile")
@require_auth
def get_profile():
    return ProfileOut.of(current_user())


@bp.patch("/profile")
@require_auth
def update_profile():
    body = parse_body(ProfileUpdateIn)
    return ProfileOut.of(service.update_profile(current_user(), body.model_dump(exclude_unset=True)))


@bp.put("/profile/password")
@require_auth
@body_class(AUTH_BODY)
def change_password():
    body = parse_body(PasswordChangeIn)
    auth.change_password(current_user(), body.currentPassword, body.newPassword, current_session_id())
    return {"message": "Password changed; other sessions were signed out"}


@bp.get("/preferences")
@require_auth
def get_preferences():
    return validate(PreferencesIn, current_user().preferences or {}).model_dump()


@bp.put("/preferences")
@require_auth
def put_preferences():
    body = validate(PreferencesIn, request_json())
    return service.set_preferences(current_user(), body.model_dump())


@bp.get("/username/<name>")
@require_auth
def get_user_by_username(name: str):
    return UserOut.of(service.get_by_username(name))


@bp.get("/search")
@require_auth
def search_users():
    """Unscoped: the instance's directory, as `GET /api/users` (README, "Decisions beyond the wire
    spec"). With `communityId`: that community's members, to its members only."""
    query = parse_query(UserSearchQuery)
    if query.communityId is not None:
        access_community(current_user(), query.communityId, Action.READ_MEMBER)
    return [UserOut.of(u) for u in service.search_users(query.q, query.limit, query.communityId,
                                                        viewer_id=current_user().id)]


@bp.get("/<oid:user_id>")
@ratelimits.limit(ratelimits.LOOKUP_TIERS)  # once per member listed and per author in view
@require_auth
def get_user(user_id: str):
    return UserOut.of(service.get_user(user_id))


@bp.get("")
@require_auth
def list_users():
    query = parse_query(UserListQuery)
    users, token = service.list_users(query.limit, query.continuationToken)
    page = {"users": [UserOut.of(u) for u in users]}
    if token:
        page["continuationToken"] = token
    return page


@bp.post("/<oid:user_id>/disable")
@require_owner
def disable_user(user_id: str):
    return UserOut.of(service.set_disabled(user_id, True))


@bp.post("/<oid:user_id>/enable")
@require_owner
def enable_user(user_id: str):
    return UserOut.of(service.set_disabled(user_id, False))
