"""Channel-membership request models and ChannelMembership JSON."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from kraken.common.ids import ObjectIdStr
from kraken.common.time import iso
from kraken.common.validation import RequestModel
from kraken.users.models import User
from kraken.users.schemas import UserOut


class ChannelMembershipIn(RequestModel):
    userId: ObjectIdStr
    channelId: ObjectIdStr


def channel_membership_out(m, user=None) -> dict[str, Any]:
    """ChannelMembership JSON (contract §3.12): `addedBy` only when set, `user` only when given."""
    out = {"id": str(m.id), "userId": str(m.user_id), "channelId": str(m.channel_id), "joinedAt": iso(m.joined_at)}
    if m.added_by:
        out["addedBy"] = str(m.added_by)
    if user is not None:
        out["user"] = UserOut.of(user)
    return out


def with_users(memberships: list) -> list[dict[str, Any]]:
    users = {u.id: u for u in User.objects(id__in=[m.user_id for m in memberships])}
    return [channel_membership_out(m, users.get(m.user_id)) for m in memberships if m.user_id in users]


class ChannelMembershipOut(BaseModel):
    """The shape channel_membership_out() builds (for the OpenAPI document)."""

    id: str
    userId: str
    channelId: str
    joinedAt: str
    addedBy: str | None = Field(None, description="Only present when someone added the member")
    user: UserOut | None = Field(None, description="Only present in channel member lists")
