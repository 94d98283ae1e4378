"""Web push follows the notifications feature: each stored notification is pushed, in the background,
to its recipient's browsers when the recipient has no live socket; a deleted account's browsers are
forgotten (connected by create_app)."""
from __future__ import annotations

import logging

from kraken import domain, extensions
from kraken.push import service
from kraken.realtime import background

log = logging.getLogger("kraken.push")


def _notification_created(notification) -> None:
    """Never fails the sender: the push runs after it (`soon`), reading a copy of the attributes."""
    try:
        settings = extensions.settings()
        if settings.push == "off":
            return
        background.soon(service.deliver, service.snapshot(notification), settings)
    except Exception:
        log.warning("push not scheduled", exc_info=True)


def _user_removing(user) -> None:
    service.unsubscribe_all(user.id)


def init_app() -> None:
    domain.connect(domain.notification_created, _notification_created)
    domain.connect(domain.user_removing, _user_removing)
