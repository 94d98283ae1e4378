"""Friends and blocks JSON (kraken-head-features §5): PublicUser, the Friendship row and its users."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from kraken.common.time import iso
from kraken.users.schemas import UserOut


def public_user(user) -> dict[str, Any]:
    """PublicUser: the User JSON (never the e-mail) with `bannerUrl` (users have no banner here: null)."""
    return {**UserOut.of(user), "bannerUrl": None}


def friendship_out(row) -> dict[str, Any]:
    return {"id": str(row.id), "userAId": str(row.user_a_id), "userBId": str(row.user_b_id), "status": row.status,
            "createdAt": iso(row.created_at)}


def friendship_with_users(row, users: dict) -> dict[str, Any]:
    return {**friendship_out(row), "userA": public_user(users[row.user_a_id]),
            "userB": public_user(users[row.user_b_id])}


def friend_out(row, user) -> dict[str, Any]:
    return {**public_user(user), "friendshipId": str(row.id)}


# Response models (the OpenAPI document, kraken/openapi_spec.py) ------------------------------------

class PublicUserOut(UserOut):
    bannerUrl: str | None


class FriendOut(PublicUserOut):
    friendshipId: str


class FriendshipOut(BaseModel):
    id: str
    userAId: str
    userBId: str
    status: Literal["PENDING", "ACCEPTED"]
    createdAt: str


class FriendshipWithUsersOut(FriendshipOut):
    userA: PublicUserOut
    userB: PublicUserOut


class FriendRequestsOut(BaseModel):
    sent: list[FriendshipWithUsersOut]
    received: list[FriendshipWithUsersOut]


class FriendStatusOut(BaseModel):
    status: Literal["PENDING", "ACCEPTED"] | None
    friendshipId: str | None
    direction: Literal["sent", "received"] | None


class SuccessOut(BaseModel):
    success: bool


class BlockedOut(BaseModel):
    blocked: bool
