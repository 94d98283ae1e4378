"""Test helpers: an API client that carries a bearer token, and factories for users and invites."""
from __future__ import annotations

import itertools

from kraken.invites import service as invites
from kraken.users import service as users

_seq = itertools.count(1)


class ApiClient:
    """Flask test client wrapper that sends `Authorization: Bearer <token>` when it has one."""

    def __init__(self, client, token: str | None = None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        merged = dict(headers or {})
        if self.token and "Authorization" not in merged:
            merged["Authorization"] = f"Bearer {self.token}"
        return merged

    def open(self, method, path, headers=None, **kwargs):
        return self.client.open(path, method=method, headers=self._headers(headers), **kwargs)

    def get(self, path, **kw): return self.open("GET", path, **kw)
    def post(self, path, **kw): return self.open("POST", path, **kw)
    def put(self, path, **kw): return self.open("PUT", path, **kw)
    def patch(self, path, **kw): return self.open("PATCH", path, **kw)
    def delete(self, path, **kw): return self.open("DELETE", path, **kw)

    def cookie(self, name="refresh_token"):
        c = self.client.get_cookie(name)
        return c.value if c else None


class Factory:
    PASSWORD = "correct horse battery"

    def __init__(self, app):
        self.app = app

    def invite(self, **kwargs):
        return invites.create_invite(created_by=None, **kwargs)

    def user(self, username: str | None = None, password: str = PASSWORD, email: str | None = None):
        username = username or f"user{next(_seq)}"
        code = self.invite(max_uses=1).code
        return users.register(username=username, password=password, email=email, code=code, mode="invite")

    def owner(self, username: str = "owner", password: str = PASSWORD):
        return users.create_owner(username, password)
