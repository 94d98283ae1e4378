"""Alias-group look-ups other features need (notification targeting, mention checks), below every service."""
from __future__ import annotations

from kraken.alias_groups.models import AliasGroup, AliasGroupMember


def groups_in_community(community_id, group_ids) -> set:
    """Those of `group_ids` that are groups of `community_id` (one `_id` equality each: the default
    store reads an `$in` by scanning, docs/decisions/0033-equality-only-hot-queries.md)."""
    collection = AliasGroup._get_collection()
    return {group_id for group_id in dict.fromkeys(group_ids)
            if collection.find_one({"_id": group_id, "communityId": community_id}, {"_id": 1}) is not None}


def member_ids(group_ids) -> set:
    """The user ids of every member of these groups."""
    out: set = set()
    for group_id in set(group_ids):
        out.update(d["userId"] for d in AliasGroupMember._get_collection().find(
            {"aliasGroupId": group_id}, {"userId": 1, "_id": 0}))
    return out


def group_ids_of(user_id) -> list:
    """The ids of every alias group the user is a member of (one indexed equality)."""
    return list(AliasGroupMember.objects(user_id=user_id).scalar("alias_group_id"))
