"""Alias-group look-ups other features need (notification targeting, mention checks), below every service."""
from __future__ import annotations

from bson import ObjectId

from kraken.alias_groups.models import AliasGroup, AliasGroupMember


def _oid(value) -> ObjectId | None:
    """An id as stored: spans carry group ids as hex strings, documents as ObjectIds."""
    if isinstance(value, ObjectId):
        return value
    return ObjectId(value) if isinstance(value, str) and ObjectId.is_valid(value) else None


def groups_in_community(community_id, group_ids) -> set:
    """Those of `group_ids` (ObjectIds or hex strings, returned as given) that are groups of
    `community_id`: one `_id` equality each (the default store reads an `$in` by scanning,
    docs/decisions/0033-equality-only-hot-queries.md)."""
    collection, community = AliasGroup._get_collection(), _oid(community_id)
    return {group_id for group_id in dict.fromkeys(group_ids)
            if _oid(group_id) is not None
            and collection.find_one({"_id": _oid(group_id), "communityId": community}, {"_id": 1}) is not None}


def member_ids(group_ids) -> set:
    """The user ids (ObjectIds) of every member of these groups (ObjectIds or hex strings)."""
    out: set = set()
    for group_id in {_oid(g) for g in group_ids} - {None}:
        out.update(d["userId"] for d in AliasGroupMember._get_collection().find(
            {"aliasGroupId": group_id}, {"userId": 1, "_id": 0}))
    return out


def group_ids_of(user_id) -> list:
    """The ids of every alias group the user is a member of (one indexed equality)."""
    return list(AliasGroupMember.objects(user_id=user_id).scalar("alias_group_id"))
