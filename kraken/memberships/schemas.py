"""Membership request models and Membership JSON."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictStr

from kraken.common.ids import ObjectIdStr
from kraken.common.time import IsoDateTime
from kraken.common.validation import RequestModel
from kraken.users.models import User
from kraken.users.schemas import UserOut


class MembershipIn(RequestModel):
    userId: ObjectIdStr
    communityId: ObjectIdStr


class MemberSearchQuery(RequestModel):
    """`query` (missing: everyone), `limit` (default 10; above 50 answered with 50, decision 0056)."""

    query: StrictStr = Field("", max_length=100)
    limit: int = Field(10, ge=1)


class MembershipOut(BaseModel):
    id: str
    userId: str
    communityId: str
    joinedAt: IsoDateTime
    user: UserOut | None = None

    @classmethod
    def of(cls, m, user=None) -> dict[str, Any]:
        out = cls(id=str(m.id), userId=str(m.user_id), communityId=str(m.community_id),
                  joinedAt=m.joined_at).model_dump(mode="json", exclude={"user"})
        if user is not None:
            out["user"] = UserOut.of(user)
        return out


def with_users(memberships: list) -> list[dict[str, Any]]:
    """Membership JSON with `user`, loading all users in one query."""
    users = {u.id: u for u in User.objects(id__in=[m.user_id for m in memberships])}
    return [MembershipOut.of(m, users.get(m.user_id)) for m in memberships if m.user_id in users]
