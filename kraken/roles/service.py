"""Roles: default templates, custom roles, assignment, escalation and last-admin protection."""
from __future__ import annotations

from bson import ObjectId
from mongoengine import NotUniqueError

from kraken import dependents, domain, permcache
from kraken.common import unique
from kraken.errors import ConflictError, NotFoundError, ValidationError
from kraken.memberships.models import Membership
from kraken.common.lookups import by_ids
from kraken.rbac import (COMMUNITY_ADMIN, DEFAULT_COMMUNITY_ROLES, DEFAULT_INSTANCE_ROLES, MEMBER, Grant,
                         community_grant, require_grantable, require_instance_grantable, require_may_change_actions)
from kraken.roles.models import Role, UserRole
from kraken.users.lookups import get_user
from kraken.users.models import User

# Each community's roles, trusted while its generation is unchanged (every role write bumps it).
_lists = permcache.Copies(4096)


def create_default_roles(community_id: ObjectId) -> dict[str, Role]:
    """The default roles of a new community, by name."""
    return {name: Role(name=name, community_id=community_id, actions=sorted(a.value for a in actions),
                       is_default=True).save(force_insert=True)
            for name, actions in DEFAULT_COMMUNITY_ROLES.items()}


def ensure_instance_roles() -> None:
    """Create the default instance roles if missing (idempotent)."""
    for name, actions in DEFAULT_INSTANCE_ROLES.items():
        if not Role.objects(community_id=None, name=name).count():
            try:
                Role(name=name, community_id=None, actions=sorted(a.value for a in actions),
                     is_default=True).save(force_insert=True)
            except NotUniqueError:
                pass


def default_role(community_id: object, name: str) -> Role:
    role = Role.objects(community_id=community_id, name=name).first()
    if role is None:  # a default role can't be deleted, but be robust to old data
        role = Role(name=name, community_id=community_id, is_default=True,
                    actions=sorted(a.value for a in DEFAULT_COMMUNITY_ROLES[name])).save()
    return role


def give(user_id: ObjectId, role: Role) -> bool:
    """Assign without checks (creation paths); False if the user already had it."""
    try:
        UserRole(user_id=user_id, role_id=role.id, community_id=role.community_id,
                 is_instance_role=role.community_id is None).save(force_insert=True)
    except NotUniqueError:
        return False
    return True


def give_member_role(user_id: ObjectId, community_id: object) -> None:
    give(user_id, default_role(community_id, MEMBER))


def list_roles(community_id: object) -> list[Role]:
    """A community's roles by creation (this process's copy while the community's generation holds;
    shared copies, do not change them)."""
    return _lists.resolve(community_id, lambda: list(Role.objects(community_id=community_id).order_by("created_at")))


def my_roles(user, community_id: object) -> list[Role]:
    """The caller's roles in a community, from the permission cache and this process's role copies."""
    grant = community_grant(user, community_id)
    if grant.role_ids is None:
        return roles_of(user.id, community_id)
    return [r for r in list_roles(community_id) if str(r.id) in grant.role_ids]


def get_role(community_id: object, role_id: str) -> Role:
    role = Role.objects(id=role_id, community_id=community_id).first()
    if role is None:
        raise NotFoundError("Role not found in this community")
    return role


def create_role(actor, grant: Grant, community_id: object, name: str, actions: list[str]) -> Role:
    """Raises ForbiddenError (escalation), ConflictError (name taken)."""
    require_grantable(actor, grant, actions)
    try:
        role = Role(name=name, community_id=community_id, actions=sorted(set(actions))).save(force_insert=True)
    except NotUniqueError:
        raise ConflictError(f'Role with name "{name}" already exists in this community') from None
    domain.role_created.send(role)
    return role


def update_role(actor, grant: Grant, community_id: object, role_id: str, name: str | None,
                actions: list[str] | None) -> Role:
    """Rename or change actions; default roles keep their names; raises 403/404/409/400."""
    role = get_role(community_id, role_id)
    update = {}
    if name is not None and name != role.name:
        if role.is_default:
            raise ValidationError(["name: default roles cannot be renamed"], code="DEFAULT_ROLE")
        update["set__name"] = name
    if actions is not None:
        require_may_change_actions(actor, grant, role, actions)
        update["set__actions"] = sorted(set(actions))
    if update:
        try:
            unique.update_one(Role.objects(id=role.id), **update)
        except NotUniqueError:
            raise ConflictError(f'Role with name "{name}" already exists in this community') from None
        dependents.wrote(role)
        role.reload()
        domain.role_updated.send(role)
    return role


def delete_role(community_id: object, role_id: str) -> None:
    """Delete a custom role and its assignments; default roles are kept (400)."""
    role = get_role(community_id, role_id)
    if role.is_default:
        raise ValidationError(["Cannot delete default roles."], code="DEFAULT_ROLE")
    UserRole.objects(role_id=role.id).delete()
    role.delete()
    dependents.wrote(role, UserRole, community_id=role.community_id)
    domain.role_deleted.send(role.community_id, role_id=role.id)


def assign(actor, grant: Grant, community_id: object, user_id: str, role_id: str) -> Role:
    """Give a role to a member; raises 404 (role/member), 403 (escalation), 409 (already has it)."""
    role = get_role(community_id, role_id)
    if not Membership.objects(user_id=user_id, community_id=community_id).count():
        raise NotFoundError("User is not a member of this community")
    require_grantable(actor, grant, role.actions)
    if not give(ObjectId(user_id), role):
        raise ConflictError("User already has this role")
    domain.role_assigned.send(role, user_id=user_id)
    return role


def reset_defaults(actor, grant: Grant, community_id: object) -> list[Role]:
    """Re-create the community's missing default roles and give every default role its template's
    actions again (kraken.common.permissions); assignments and custom roles stay. A change of a role's
    actions follows the rules of `update_role` (no escalation; Community Admin's are the owner's),
    checked for every role before any is written (docs/decisions/0062-role-reset-and-invite-by-code.md). Returns the
    community's roles. Raises ForbiddenError (ROLE_ESCALATION, DEFAULT_ROLE)."""
    existing = {r.name: r for r in Role.objects(community_id=community_id) if r.name in DEFAULT_COMMUNITY_ROLES}
    missing, changed = [], []
    for name, template in DEFAULT_COMMUNITY_ROLES.items():
        actions = sorted(a.value for a in template)
        role = existing.get(name)
        if role is None:
            missing.append((name, actions))
        elif sorted(role.actions) != actions or not role.is_default:
            require_may_change_actions(actor, grant, role, actions)
            changed.append((role, actions))
    for name, actions in missing:
        try:
            Role(name=name, community_id=community_id, actions=actions, is_default=True).save(force_insert=True)
        except NotUniqueError:  # re-created by a concurrent reset: the same template
            pass
    for role, actions in changed:
        Role.objects(id=role.id).update_one(set__actions=actions, set__is_default=True)
    if changed:
        dependents.wrote(Role, community_id=community_id)
    return list(Role.objects(community_id=community_id).order_by("created_at"))


def admins_left(community_id: object, excluding: ObjectId | str) -> int:
    """How many members other than `excluding` hold Community Admin."""
    role = Role.objects(community_id=community_id, name=COMMUNITY_ADMIN).first()
    if role is None:
        return 0
    return UserRole.objects(role_id=role.id, user_id__ne=ObjectId(str(excluding))).count()


def is_admin(user_id: object, community_id: object) -> bool:
    role = Role.objects(community_id=community_id, name=COMMUNITY_ADMIN).first()
    return bool(role) and UserRole.objects(role_id=role.id, user_id=ObjectId(str(user_id))).count() > 0


def protect_last_admin(user_id: object, community_id: object) -> None:
    """Raises ConflictError when `user_id` is the community's last Community Admin."""
    if is_admin(user_id, community_id) and admins_left(community_id, excluding=user_id) == 0:
        raise ConflictError("The last Community Admin cannot lose that role or leave the community",
                            code="LAST_ADMIN")


def unassign(actor, grant: Grant, community_id: object, user_id: str, role_id: str) -> None:
    """Take a role away; the last Community Admin keeps theirs (409); raises 404, 403."""
    role = get_role(community_id, role_id)
    assignment = UserRole.objects(user_id=user_id, role_id=role.id).first()
    if assignment is None:
        raise NotFoundError("User role assignment not found")
    require_grantable(actor, grant, role.actions)
    if role.name == COMMUNITY_ADMIN and role.is_default:
        protect_last_admin(user_id, community_id)
    assignment.delete()
    dependents.wrote(assignment)
    domain.role_unassigned.send(role, user_id=user_id)


def role_holders(community_id: object, role_id: str) -> list[dict]:
    role = get_role(community_id, role_id)
    user_ids = list(UserRole.objects(role_id=role.id).scalar("user_id"))
    return [{"userId": str(u.id), "username": u.username, "displayName": u.display_name}
            for u in User.objects(id__in=user_ids).order_by("username")]


def roles_of(user_id: object, community_id: object | None) -> list[Role]:
    """A user's roles in a community, or their instance roles when `community_id` is None."""
    query = UserRole.objects(user_id=user_id, community_id=community_id)
    if community_id is None:
        query = query.filter(is_instance_role=True)
    role_ids = list(query.scalar("role_id"))
    return list(Role.objects(id__in=role_ids).order_by("created_at")) if role_ids else []


# instance roles ---------------------------------------------------------------------------

def instance_roles() -> list[Role]:
    ensure_instance_roles()
    return list(Role.objects(community_id=None).order_by("created_at"))


def get_instance_role(role_id: str) -> Role:
    role = Role.objects(id=role_id, community_id=None).first()
    if role is None:
        raise NotFoundError("Role not found")
    return role


def assign_instance(role_id: str, user_id: str, actor=None) -> None:
    """Give an instance role; `actor` (None: the CLI) may give only actions they hold. Raises 404, 403, 409."""
    role = get_instance_role(role_id)
    user = get_user(user_id)
    if actor is not None:
        require_instance_grantable(actor, role.actions, kept=role.actions)
    if not give(user.id, role):
        raise ConflictError("User already has this instance role")


def unassign_instance(role_id: str, user_id: str, actor=None) -> None:
    """Take an instance role away; `actor` may take only a role whose actions they hold. Raises 404, 403."""
    role = get_instance_role(role_id)
    if actor is not None:
        require_instance_grantable(actor, role.actions, kept=role.actions)
    if not UserRole.objects(role_id=role.id, user_id=user_id).delete():
        raise NotFoundError("User role assignment not found")
    dependents.wrote(UserRole, community_id=None)


def _instance_name_taken(name: str) -> ConflictError:
    return ConflictError(f'Role with name "{name}" already exists', code="ROLE_NAME_TAKEN")


def _require_free_instance_name(name: str) -> None:
    # the unique (communityId, name) index does not see a missing communityId on the default store
    if Role.objects(community_id=None, name=name).count():
        raise _instance_name_taken(name)


def create_instance_role(actor, name: str, actions: list[str]) -> Role:
    """A custom instance role: instance actions only (400), none the actor lacks (403), a free name (409)."""
    require_instance_grantable(actor, actions)
    _require_free_instance_name(name)
    try:
        return Role(name=name, community_id=None, actions=sorted(set(actions))).save(force_insert=True)
    except NotUniqueError:
        raise _instance_name_taken(name) from None


def update_instance_role(actor, role_id: str, name: str | None, actions: list[str] | None) -> Role:
    """Rename (not a default role: 400) or change actions (same checks as creation, also over the
    actions the role holds now: no one edits a role beyond their own rights). Raises 400/403/404/409."""
    role = get_instance_role(role_id)
    require_instance_grantable(actor, role.actions, kept=role.actions)
    update = {}
    if name is not None and name != role.name:
        if role.is_default:
            raise ValidationError(["name: default roles cannot be renamed"], code="DEFAULT_ROLE")
        update["set__name"] = name
    if actions is not None:
        require_instance_grantable(actor, actions, kept=role.actions)
        update["set__actions"] = sorted(set(actions))
    if "set__name" in update:
        _require_free_instance_name(name)
    if update:
        try:
            Role.objects(id=role.id).update_one(**update)
        except NotUniqueError:
            raise _instance_name_taken(name) from None
        dependents.wrote(role)
        role.reload()
    return role


def delete_instance_role(actor, role_id: str) -> None:
    """Delete a custom instance role nobody holds; default roles stay (400), an assigned one too (400)."""
    role = get_instance_role(role_id)
    require_instance_grantable(actor, role.actions, kept=role.actions)
    if role.is_default:
        raise ValidationError(["Cannot delete default roles."], code="DEFAULT_ROLE")
    holders = UserRole.objects(role_id=role.id).count()
    if holders:
        raise ValidationError([f"Cannot delete a role that is assigned to {holders} user(s)."], code="ROLE_IN_USE")
    role.delete()
    dependents.wrote(role)


def instance_role_holders(role_id: str) -> list[dict]:
    role = get_instance_role(role_id)
    ids = list(UserRole.objects(role_id=role.id).scalar("user_id"))
    return [{"userId": str(u.id), "username": u.username, "displayName": u.display_name}
            for u in sorted(by_ids(User, ids), key=lambda u: u.username)]
