"""Alias (mention) groups: named sets of a community's members (kraken-head-features §6).

The routes authorise (the gate's ALIAS_GROUP resource: the group's community); this module checks
that every member is a member of the community, writes, then announces the change
(kraken.domain's alias_* events), on which the members' sockets join or leave the group's room
(kraken.realtime.subscriptions). It also reacts to its community: a member who leaves, is kicked or
banned leaves every group of it (the reference keeps them: kraken-head-features §6, a bug), a deleted
community takes its groups along (docs/decisions/0061-alias-groups.md), and a deleted account leaves
every group.
"""
from __future__ import annotations

from bson import ObjectId
from mongoengine import NotUniqueError
from mongoengine.errors import OperationError

from kraken import domain
from kraken.alias_groups.lookups import group_ids_of
from kraken.alias_groups.models import AliasGroup, AliasGroupMember
from kraken.alias_groups.schemas import group_out, summary_out
from kraken.common.lookups import by_ids, each
from kraken.errors import ConflictError, NotFoundError, ValidationError
from kraken.memberships.models import Membership
from kraken.users.models import User


def _is_member(community_id: ObjectId, user_id: ObjectId) -> bool:
    return Membership.objects(community_id=community_id, user_id=user_id).count() > 0


def _community_members(community_id: ObjectId, user_ids) -> list[ObjectId]:
    """The ids, each once, once every one is a member of the community (one equality each);
    raises ValidationError naming the others."""
    ids = [ObjectId(str(u)) for u in dict.fromkeys(str(u) for u in user_ids)]
    found = each(lambda u: _is_member(community_id, u), ids)
    if outside := [str(u) for u, ok in zip(ids, found) if not ok]:
        raise ValidationError([f"Users not members of this community: {', '.join(outside)}"],
                              code="NOT_A_MEMBER")
    return ids


def _taken(name: str) -> ConflictError:
    return ConflictError(f'Alias group "{name}" already exists in this community', code="ALIAS_GROUP_NAME_TAKEN")


def _name_used(community_id: ObjectId, name: str) -> bool:
    return AliasGroup.objects(community_id=community_id, name=name).count() > 0


def _member_ids(group_id: ObjectId) -> list[ObjectId]:
    return list(AliasGroupMember.objects(alias_group_id=group_id).scalar("user_id"))


def _insert(group: AliasGroup, user_ids) -> list[ObjectId]:
    """Add members that are not in the group yet; returns those added. A member removed from the
    community meanwhile (its clean-up ran before this insert) or a group deleted meanwhile is taken
    out again: the last writer checks (no transactions)."""
    added = []
    for user_id in user_ids:
        try:
            AliasGroupMember(alias_group_id=group.id, user_id=user_id,
                             community_id=group.community_id).save(force_insert=True)
        except NotUniqueError:
            continue
        if _is_member(group.community_id, user_id):
            added.append(user_id)
        else:
            AliasGroupMember.objects(alias_group_id=group.id, user_id=user_id).delete()
    if added and not AliasGroup.objects(id=group.id).count():
        AliasGroupMember.objects(alias_group_id=group.id).delete()
        return []
    return added


def view(group: AliasGroup) -> dict:
    """AliasGroupWithMembers JSON."""
    return group_out(group, by_ids(User, _member_ids(group.id)))


def list_groups(community_id: ObjectId) -> list[dict]:
    """A community's groups by name, each with its member count."""
    groups = sorted(AliasGroup.objects(community_id=community_id), key=lambda g: g.name)
    counts = each(lambda g: AliasGroupMember.objects(alias_group_id=g.id).count(), groups)
    return [summary_out(g, n) for g, n in zip(groups, counts)]


def create(community_id: ObjectId, name: str, member_ids) -> dict:
    """A new group with its first members (community members only). Raises ValidationError
    (NOT_A_MEMBER), ConflictError (the name is taken in this community; of two concurrent creations
    of one name the unique index lets one through)."""
    members = _community_members(community_id, member_ids)
    try:
        group = AliasGroup(name=name, community_id=community_id).save(force_insert=True)
    except NotUniqueError:
        raise _taken(name) from None
    if added := _insert(group, members):
        domain.alias_members_added.send(group.id, user_ids=added)
    return view(group)


def rename(group: AliasGroup, name: str) -> dict:
    """Raises ConflictError when another group of the community has the name (the same name: nothing changes)."""
    if name != group.name:
        if _name_used(group.community_id, name):
            raise _taken(name)
        try:
            updated = AliasGroup.objects(id=group.id).update_one(set__name=name)
        except (NotUniqueError, OperationError):
            # a concurrent rename or creation took the name in between (FerretDB reports the unique
            # index's refusal of an update as an OperationError, MongoDB as a duplicate key)
            if _name_used(group.community_id, name):
                raise _taken(name) from None
            raise
        if not updated:
            raise NotFoundError("Alias group not found")
        group.name = name
    return view(group)


def delete(group: AliasGroup) -> None:
    """The group and its members go; their sockets leave its room."""
    AliasGroupMember.objects(alias_group_id=group.id).delete()
    AliasGroup.objects(id=group.id).delete()
    domain.alias_group_deleted.send(group.id)


def add_member(group: AliasGroup, user_id: str) -> None:
    """Raises ValidationError (not a member of the community), ConflictError (already in the group)."""
    user = ObjectId(user_id)
    if not _is_member(group.community_id, user):
        raise ValidationError(["User is not a member of this community"], code="NOT_A_MEMBER")
    if not _insert(group, [user]):
        if AliasGroupMember.objects(alias_group_id=group.id, user_id=user).count():
            raise ConflictError("User is already a member of this group", code="ALREADY_MEMBER")
        if not AliasGroup.objects(id=group.id).count():  # deleted meanwhile
            raise NotFoundError("Alias group not found")
        raise ValidationError(["User is not a member of this community"], code="NOT_A_MEMBER")  # left meanwhile
    domain.alias_members_added.send(group.id, user_ids=[user])


def remove_member(group: AliasGroup, user_id: str) -> None:
    """Raises NotFoundError when the user is not in the group."""
    user = ObjectId(user_id)
    if not AliasGroupMember.objects(alias_group_id=group.id, user_id=user).delete():
        raise NotFoundError("User is not a member of this group")
    domain.alias_members_removed.send(group.id, user_ids=[user])


def replace_members(group: AliasGroup, member_ids) -> None:
    """The group's members become `member_ids` (repeats count once; `[]` empties it): those no longer
    named leave, the new ones join. Raises ValidationError (NOT_A_MEMBER) before any change."""
    wanted = _community_members(group.community_id, member_ids)
    current = set(_member_ids(group.id))
    gone = [u for u in current if u not in set(wanted)]
    for user_id in gone:
        AliasGroupMember.objects(alias_group_id=group.id, user_id=user_id).delete()
    if gone:
        domain.alias_members_removed.send(group.id, user_ids=gone)
    if added := _insert(group, [u for u in wanted if u not in current]):
        domain.alias_members_added.send(group.id, user_ids=added)


# reactions to the community --------------------------------------------------------------------

def _member_left(community_id, *, user_id, **_kwargs) -> None:
    """Left, kicked or banned: out of every group of the community (their sockets leave the rooms)."""
    user_id = ObjectId(str(user_id))
    group_ids = list(AliasGroupMember.objects(user_id=user_id, community_id=community_id).scalar("alias_group_id"))
    AliasGroupMember.objects(user_id=user_id, community_id=community_id).delete()
    for group_id in group_ids:
        domain.alias_members_removed.send(group_id, user_ids=[user_id])


def _community_removing(community_id, **_kwargs) -> None:
    """A deleted community's groups go with it; their rooms empty."""
    group_ids = list(AliasGroup.objects(community_id=community_id).scalar("id"))
    AliasGroupMember.objects(community_id=community_id).delete()
    AliasGroup.objects(community_id=community_id).delete()
    for group_id in group_ids:
        domain.alias_group_deleted.send(group_id)


def _user_removing(user) -> None:
    """A deleted account leaves every group, of every community (their sockets leave the rooms)."""
    group_ids = group_ids_of(user.id)
    AliasGroupMember.objects(user_id=user.id).delete()
    for group_id in group_ids:
        domain.alias_members_removed.send(group_id, user_ids=[user.id])


def init_app() -> None:
    domain.connect(domain.member_left, _member_left)
    domain.connect(domain.community_removing, _community_removing)
    domain.connect(domain.user_removing, _user_removing)
