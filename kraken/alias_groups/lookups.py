"""Alias-group look-ups other features need (notification targeting, mention checks), below every service."""
from __future__ import annotations

from kraken.alias_groups.models import AliasGroup, AliasGroupMember


def groups_in_community(community_id, group_ids) -> set:
    """Those of `group_ids` that are groups of `community_id`."""
    if not group_ids:
        return set()
    return {d["_id"] for d in AliasGroup._get_collection().find(
        {"_id": {"$in": list(group_ids)}, "communityId": community_id}, {"_id": 1})}


def member_ids(group_ids) -> set:
    """The user ids of every member of these groups."""
    out: set = set()
    for group_id in set(group_ids):
        out.update(d["userId"] for d in AliasGroupMember._get_collection().find(
            {"aliasGroupId": group_id}, {"userId": 1, "_id": 0}))
    return out
