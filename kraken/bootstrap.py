"""First start: when there are no users, log a one-time setup invite
(docs/decisions/0023-first-start-and-operations.md)."""
from __future__ import annotations

import logging

from mongoengine import NotUniqueError

from kraken.invites import service as invites
from kraken.invites.models import Invite
from kraken.users.models import SETUP_INVITE_MARKER, InstanceMarker, User

log = logging.getLogger("kraken.bootstrap")
SETUP_MARKER = SETUP_INVITE_MARKER  # shared with the first-run setup (kraken.onboarding), which consumes it


def setup_invite() -> Invite | None:
    """The single-use setup invite while the instance has no users; None once it has one.

    Every process may call this at start; they all report the same invite.
    """
    if User.objects.count():
        return None
    marker = InstanceMarker.objects(id=SETUP_MARKER).first()
    invite = marker and Invite.objects(code=marker.value).first()
    if invite is not None and not invite.disabled and not invite.exhausted:
        return invite
    invite = invites.create_invite(created_by=None, max_uses=1)
    try:
        InstanceMarker(id=SETUP_MARKER, value=invite.code).save(force_insert=True)
    except NotUniqueError:  # another process or a stale marker
        current = InstanceMarker.objects(id=SETUP_MARKER).first()
        if current and current.value != invite.code and Invite.objects(code=current.value, disabled=False).count():
            invite.delete()
            return Invite.objects(code=current.value).first()
        InstanceMarker.objects(id=SETUP_MARKER).update_one(set__value=invite.code)
    return invite


def log_setup_invite() -> None:
    try:
        invite = setup_invite()
    except Exception as exc:  # the database may still be starting; the server serves anyway
        log.warning("could not check for a setup invite", extra={"error_type": type(exc).__name__})
        return
    if invite is not None:
        log.warning("no users yet: register the first (owner) account with this one-time invite code",
                    extra={"setup_invite": invite.code})
