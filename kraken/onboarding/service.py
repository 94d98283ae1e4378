"""Onboarding state. An instance needs setup until its first account exists: that account is
registered with the setup invite the server logs on its first start (kraken.bootstrap), the
first-run wizard's `POST /api/onboarding/setup` is not served yet, so no setup token is handed out."""
from __future__ import annotations

from kraken.users.models import User


def status() -> dict[str, bool]:
    """`needsSetup` while the instance has no account at all."""
    has_users = User.objects.only("id").first() is not None
    return {"needsSetup": not has_users, "hasUsers": has_users}
