"""Direct-message request models and Group JSON (kraken-later-endpoints §14)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictBool, StrictStr

from kraken.common.ids import ObjectIdStr
from kraken.common.time import iso
from kraken.common.validation import RequestModel
from kraken.messages.schemas import SpanOut

MAX_MEMBERS = 10  # members of a group DM (docs/decisions/0047-direct-messages.md)


class GroupCreateIn(RequestModel):
    """`POST /api/direct-messages`: the other users (the caller is added), an optional name; isGroup
    defaults to more than one other user."""

    userIds: list[ObjectIdStr] = Field(min_length=1, max_length=MAX_MEMBERS - 1)
    name: StrictStr | None = Field(None, min_length=1, max_length=100)
    isGroup: StrictBool | None = None


class MembersAddIn(RequestModel):
    userIds: list[ObjectIdStr] = Field(min_length=1, max_length=MAX_MEMBERS - 1)


class MemberUserOut(BaseModel):
    id: str
    username: str
    displayName: str | None
    avatarUrl: str | None


class MemberOut(BaseModel):
    id: str
    userId: str
    joinedAt: str
    user: MemberUserOut


class LastMessageOut(BaseModel):
    id: str
    authorId: str
    spans: list[SpanOut]
    sentAt: str


class GroupOut(BaseModel):
    """A direct-message group: its members (joined first, first) and its newest message."""

    id: str
    name: str | None
    isGroup: bool
    createdAt: str
    members: list[MemberOut]
    lastMessage: LastMessageOut | None


def member_out(membership, user) -> dict[str, Any]:
    return {"id": membership.id, "userId": str(membership.user_id), "joinedAt": iso(membership.joined_at),
            "user": {"id": str(user.id), "username": user.username, "displayName": user.display_name,
                     "avatarUrl": user.avatar_url}}


def group_out(group, members: list[dict], last_message: dict | None) -> dict[str, Any]:
    last = None
    if last_message is not None:
        last = {k: last_message[k] for k in ("id", "authorId", "spans", "sentAt")}
    return {"id": str(group.id), "name": group.name, "isGroup": group.is_group, "createdAt": iso(group.created_at),
            "members": members, "lastMessage": last}
