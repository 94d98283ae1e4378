"""The statistics counters follow the writes (docs/decisions/0063-running-an-instance-from-the-client.md):
creations are heard through MongoEngine's `post_save` (every creation is a `save(force_insert=True)`),
removals and messages through domain events."""
from __future__ import annotations

from mongoengine import signals

from kraken import domain
from kraken.channels.models import Channel
from kraken.communities.models import Community
from kraken.instance import service
from kraken.users.models import User

_CREATED = {User: "totalUsers", Community: "totalCommunities", Channel: "totalChannels"}


def _saved(sender, document, created: bool = False, **_kwargs) -> None:
    if created:
        service.count(_CREATED[sender], 1)


def _message_stored(message) -> None:
    service.count("totalMessages", 1)


def _message_deleted(message) -> None:
    # a thread's parent takes its replies with it (kraken.threads)
    service.count("totalMessages", -1 - (getattr(message, "reply_count", None) or 0))


def _channels_removing(community_id, *, channel_ids) -> None:
    service.count("totalChannels", -len(channel_ids))
    if channel_ids:  # their messages go: how many is known only by reading them, so recount once
        service.forget_counts("totalMessages")


def _community_removing(community_id, *, channel_ids) -> None:
    service.count("totalCommunities", -1)


def init_app() -> None:
    for document in _CREATED:
        signals.post_save.connect(_saved, sender=document, weak=False)
    domain.connect(domain.message_stored, _message_stored)
    domain.connect(domain.message_deleted, _message_deleted)
    domain.connect(domain.channels_removing, _channels_removing)
    domain.connect(domain.community_removing, _community_removing)
