"""Room names: `<userId>`, `<channelId>`, `community:<communityId>`, `dm:<groupId>`, `<aliasGroupId>`
(docs/decisions/0014-socket-authentication-and-rooms.md, kraken-head-features §6)."""
from __future__ import annotations


def user_room(user_id: object) -> str:
    return str(user_id)


def channel_room(channel_id: object) -> str:
    return str(channel_id)


def community_room(community_id: object) -> str:
    return f"community:{community_id}"


def dm_room(group_id: object) -> str:
    return f"dm:{group_id}"


def alias_room(group_id: object) -> str:
    """An alias group's members (kraken-head-features §6: nothing is ever sent to it)."""
    return str(group_id)
