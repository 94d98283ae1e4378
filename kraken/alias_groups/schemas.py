"""Alias-group request models and their JSON: AliasGroupSummary, AliasGroupWithMembers (kraken-head-features §6)."""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, StrictStr, field_validator

from kraken.common.ids import ObjectIdStr
from kraken.common.time import IsoDateTime
from kraken.common.validation import RequestModel

NAME_MAX = 50
NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]+")
# members named in one request: far more than a mention group needs, and what a 64 KiB body holds
# with room to spare (docs/decisions/0061-alias-groups.md)
MAX_MEMBER_IDS = 1000


def group_name(value: str) -> str:
    """The reference's name rule, with its messages: 1-50 letters, digits, `_` and `-`."""
    if not value:
        raise ValueError("Group name must not be empty")
    if len(value) > NAME_MAX:
        raise ValueError(f"Group name must not exceed {NAME_MAX} characters")
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError("Group name can only contain letters, numbers, underscores, and hyphens")
    return value


class AliasGroupIn(RequestModel):
    """`POST /api/alias-groups/community/:communityId`."""

    name: StrictStr
    memberIds: list[ObjectIdStr] = Field(default_factory=list, max_length=MAX_MEMBER_IDS)

    _n = field_validator("name")(classmethod(lambda cls, v: group_name(v)))


class AliasGroupRenameIn(RequestModel):
    """`PUT /api/alias-groups/:groupId`."""

    name: StrictStr

    _n = field_validator("name")(classmethod(lambda cls, v: group_name(v)))


class AliasMemberIn(RequestModel):
    """`POST /api/alias-groups/:groupId/members`."""

    userId: ObjectIdStr


class AliasMembersIn(RequestModel):
    """`PUT /api/alias-groups/:groupId/members`: the whole new list (`[]` clears it; repeats count once)."""

    memberIds: list[ObjectIdStr] = Field(max_length=MAX_MEMBER_IDS)


class AliasGroupSummaryOut(BaseModel):
    id: str
    name: str
    communityId: str
    memberCount: int


class AliasMemberOut(BaseModel):
    """A member: the user's id and how to show them."""

    id: str
    username: str
    displayName: str | None
    avatarUrl: str | None


class AliasGroupOut(BaseModel):
    """AliasGroupWithMembers: members by username."""

    id: str
    name: str
    communityId: str
    createdAt: IsoDateTime
    memberCount: int
    members: list[AliasMemberOut]


def summary_out(group, member_count: int) -> dict[str, Any]:
    return AliasGroupSummaryOut(id=str(group.id), name=group.name, communityId=str(group.community_id),
                                memberCount=member_count).model_dump(mode="json")


def group_out(group, users: list) -> dict[str, Any]:
    members = [AliasMemberOut(id=str(u.id), username=u.username, displayName=u.display_name, avatarUrl=u.avatar_url)
               for u in sorted(users, key=lambda u: u.username)]
    return AliasGroupOut(id=str(group.id), name=group.name, communityId=str(group.community_id),
                         createdAt=group.created_at, memberCount=len(members),
                         members=members).model_dump(mode="json")
