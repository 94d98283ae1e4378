"""Auth routes: login, refresh, logout (contract §5.2, docs/decisions/0008-sessions-and-refresh-token-families.md)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask_jwt_extended import decode_token

from kraken import extensions, ratelimits
from kraken.auth import service
from kraken.auth.csrf import refuse_cross_site
from kraken.auth.schemas import LoginIn, session_out
from kraken.auth.tokens import COOKIE_NAME
from kraken.common.validation import AUTH_BODY, body_class, parse_body
from kraken.rbac.web import current_session_id, current_user, require_auth

bp = Blueprint("auth", __name__, url_prefix="/api/auth")


def _check_origin() -> None:
    """Cookie endpoints refuse cross-site callers (CSRF, kraken.auth.csrf); same-origin, configured
    origins and non-browser clients pass."""
    settings = extensions.settings()
    refuse_cross_site(request.headers, request.host_url, settings.cors_origins)


def _with_cookie(body: dict, refresh_token: str | None, status: int = 200) -> Response:
    settings = extensions.settings()
    response = jsonify(body)
    response.status_code = status
    if refresh_token is None:
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Strict",
                               secure=settings.production)
    else:
        response.set_cookie(COOKIE_NAME, refresh_token, max_age=settings.refresh_token_ttl_days * 86400,
                            path="/", httponly=True, samesite="Strict", secure=settings.production)
    return response


@bp.before_request
def _auth_guards() -> None:
    _check_origin()
    ratelimits.require_redis()


@bp.post("/login")
@ratelimits.limit(ratelimits.LOGIN_PER_IP, key_func=ratelimits.ip_key)
@ratelimits.limit(ratelimits.LOGIN_FAILURES_PER_USERNAME, key_func=ratelimits.login_username_key,
               deduct_when=ratelimits.failed_login)
@body_class(AUTH_BODY)
def login():
    body = parse_body(LoginIn)
    session = service.login(body.username.strip().lower(), body.password, request.user_agent.string,
                            request.remote_addr)
    return _with_cookie({"accessToken": session.access_token}, session.refresh_token)


@bp.post("/refresh")
@ratelimits.limit(ratelimits.REFRESH_PER_FAMILY, key_func=ratelimits.refresh_family_key)
@ratelimits.limit(ratelimits.REFRESH_PER_IP, key_func=ratelimits.ip_key)
@body_class(AUTH_BODY)
def refresh():
    session = service.refresh(request.cookies.get(COOKIE_NAME), request.remote_addr)
    return _with_cookie({"accessToken": session.access_token}, session.refresh_token)


@bp.post("/logout")
@ratelimits.limit(ratelimits.LOGOUT_PER_IP, key_func=ratelimits.ip_key)
@body_class(AUTH_BODY)
def logout():
    claims = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        try:
            claims = decode_token(header[7:])
        except Exception:  # an expired or foreign token just isn't revoked
            claims = None
    service.logout(request.cookies.get(COOKIE_NAME), claims)
    return _with_cookie({"message": "Logged out successfully"}, None, status=201)


# --- sessions (HF §11, docs/decisions/0067-sessions.md) ---

def _current_session() -> str | None:
    return service.current_session(current_user(), request.cookies.get(COOKIE_NAME), current_session_id())


@bp.get("/sessions")
@require_auth
def list_sessions():
    current = _current_session()
    return jsonify([session_out(family, current) for family in service.live_sessions(current_user())])


@bp.delete("/sessions/<oid:session_id>")
@require_auth
def revoke_session(session_id: str):
    service.revoke_session(current_user(), session_id)
    return {"message": "Session revoked successfully"}


@bp.delete("/sessions")
@require_auth
def revoke_other_sessions():
    count = service.revoke_other_sessions(current_user(), _current_session())
    return {"message": f"Revoked {count} session{'' if count == 1 else 's'}", "revokedCount": count}
