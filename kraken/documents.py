"""Every MongoEngine document of the app, for migrations, tests and clean-up checks."""
from __future__ import annotations


def all_documents() -> list[type]:
    from kraken.auth.models import RefreshFamily, RefreshToken
    from kraken.invites.models import Invite
    from kraken.migrations import Migration
    from kraken.users.models import InstanceMarker, User
    return [User, InstanceMarker, RefreshFamily, RefreshToken, Invite, Migration]
