"""Room names: `<userId>`, `<channelId>`, `community:<communityId>`, `dm:<groupId>`
(docs/decisions/0014-socket-authentication-and-rooms.md)."""
from __future__ import annotations


def user_room(user_id: object) -> str:
    return str(user_id)


def channel_room(channel_id: object) -> str:
    return str(channel_id)


def community_room(community_id: object) -> str:
    return f"community:{community_id}"


def dm_room(group_id: object) -> str:
    return f"dm:{group_id}"
