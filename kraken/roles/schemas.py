"""Role request models, Role JSON and UserRoles JSON."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictStr, field_validator

from kraken.common.ids import ObjectIdStr
from kraken.common.time import IsoDateTime
from kraken.common.validation import RequestModel
from kraken.common.permissions import Action
from kraken.communities.schemas import _name


class RoleIn(RequestModel):
    name: StrictStr = Field(min_length=1, max_length=50)
    actions: list[Action] = Field(min_length=1, max_length=len(Action))

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))


class RolePatch(RequestModel):
    name: StrictStr | None = Field(None, min_length=1, max_length=50)
    actions: list[Action] | None = Field(None, min_length=1, max_length=len(Action))

    _n = field_validator("name")(classmethod(lambda cls, v: _name(v)))


class AssignIn(RequestModel):
    userId: ObjectIdStr
    roleId: ObjectIdStr


class InstanceAssignIn(RequestModel):
    userId: ObjectIdStr


class RoleOut(BaseModel):
    id: str
    name: str
    actions: list[str]
    createdAt: IsoDateTime
    isDefault: bool

    @classmethod
    def of(cls, r) -> dict[str, Any]:
        return cls(id=str(r.id), name=r.name, actions=list(r.actions), createdAt=r.created_at,
                   isDefault=bool(r.is_default)).model_dump(mode="json")


def user_roles_out(user_id: object, resource_id: object | None, resource_type: str, roles: list) -> dict[str, Any]:
    """UserRoles JSON (contract §3.12) with hex-string ids."""
    return {"userId": str(user_id), "resourceId": str(resource_id) if resource_id is not None else None,
            "resourceType": resource_type, "roles": [RoleOut.of(r) for r in roles]}


class UserRolesOut(BaseModel):
    """The shape user_roles_out() builds (for the OpenAPI document)."""

    userId: str
    resourceId: str | None
    resourceType: Literal["COMMUNITY", "CHANNEL", "INSTANCE"]
    roles: list[RoleOut]


class CommunityRolesOut(BaseModel):
    communityId: str
    roles: list[RoleOut]


class RoleHolderOut(BaseModel):
    """A user holding a role."""

    userId: str
    username: str
    displayName: str | None
