"""Communities: creation with compensation, listing, update, deletion of everything under one."""
from __future__ import annotations

import logging

from mongoengine import NotUniqueError

from kraken import dependents, domain
from kraken.channel_memberships.models import ChannelMembership
from kraken.channels import service as channels
from kraken.channels.models import Channel
from kraken.invites.models import Invite
from kraken.memberships.models import Membership
from kraken.roles import service as roles
from kraken.roles.models import Role, UserRole
from kraken.common import unique
from kraken.common.lookups import by_ids
from kraken.communities.models import Community
from kraken.errors import ConflictError, NotFoundError
from kraken.rbac import COMMUNITY_ADMIN, MEMBER

log = logging.getLogger("kraken.communities")


def _name_taken() -> ConflictError:
    return ConflictError("Duplicate community name", code="COMMUNITY_NAME_TAKEN")


def create(actor, *, name: str, description: str | None, avatar: str | None, banner: str | None) -> Community:
    """Create a community with its membership, default roles, channels; undone if a step fails.

    Order (docs/decisions/0011-community-creation-and-deletion.md): community, creator's
    membership, default roles and the creator's assignments (Community Admin + Member), `general`
    (TEXT) and `General` (VOICE). Then the creator's sockets join its rooms. Raises ConflictError
    on a taken name.
    """
    try:
        community = Community(name=name, name_key=name.lower(), description=description, avatar=avatar,
                              banner=banner, created_by_id=actor.id).save(force_insert=True)
    except NotUniqueError:
        raise _name_taken() from None
    try:
        Membership(user_id=actor.id, community_id=community.id).save(force_insert=True)
        default_roles = roles.create_default_roles(community.id)
        roles.give(actor.id, default_roles[COMMUNITY_ADMIN])
        roles.give(actor.id, default_roles[MEMBER])
        # announce=False: nothing of a community's creation is announced (the creator's sockets join
        # its rooms once, below; kraken-later-endpoints §3.1)
        channels.create(actor, community.id, name="general", type="TEXT", is_private=False, description=None,
                        announce=False)
        channels.create(actor, community.id, name="General", type="VOICE", is_private=False, description=None,
                        announce=False)
    except Exception:
        log.warning("community creation failed; undoing", extra={"community_id": str(community.id)})
        purge(community.id)
        raise
    domain.member_joined.send(community.id, user_id=actor.id, announce=False)
    return community


def mine(user) -> list[Community]:
    ids = list(Membership.objects(user_id=user.id).scalar("community_id"))
    return sorted(by_ids(Community, ids), key=lambda c: c.created_at)


def all_communities() -> list[Community]:
    return list(Community.objects.order_by("created_at"))


def update(community: Community, changes: dict) -> Community:
    """Apply the given fields (None clears one but the name); a change is announced
    (`communityUpdated`). Raises ConflictError on a taken name."""
    update = {}
    for key, value in changes.items():
        if value is None and key != "name":
            update[f"unset__{key}"] = 1
        elif value is not None:
            update[f"set__{key}"] = value
    if changes.get("name"):
        update["set__name_key"] = changes["name"].lower()
    if update:
        try:
            unique.update_one(Community.objects(id=community.id), **update)
        except NotUniqueError:
            raise _name_taken() from None
        dependents.wrote(community)
        community.reload()
        domain.community_updated.send(community)
    return community


def purge(community_id) -> None:
    """Delete a community and everything under it; safe on partial data (compensation)."""
    channel_ids = list(Channel.objects(community_id=community_id).scalar("id"))
    domain.channels_removing.send(community_id, channel_ids=channel_ids)
    domain.community_removing.send(community_id, channel_ids=channel_ids)
    ChannelMembership.objects(community_id=community_id).delete()
    Channel.objects(community_id=community_id).delete()
    UserRole.objects(community_id=community_id).delete()
    Role.objects(community_id=community_id).delete()
    Membership.objects(community_id=community_id).delete()
    Invite.objects(scope="COMMUNITY", community_ids=community_id).delete()
    Invite.objects(scope="INSTANCE", community_ids=community_id).update(pull__community_ids=community_id)
    Community.objects(id=community_id).delete()
    dependents.wrote(Community, Membership, Role, UserRole, Channel, ChannelMembership,
                     id=community_id, community_id=community_id)


def delete(community: Community) -> None:
    """Delete a community and all it contains; members' sockets get `communityDeleted` and leave its rooms."""
    channel_ids = list(Channel.objects(community_id=community.id).scalar("id"))
    purge(community.id)
    domain.community_deleted.send(community.id, channel_ids=channel_ids)


def get(community_id) -> Community:
    community = Community.objects(id=community_id).first()
    if community is None:
        raise NotFoundError("Community not found")
    return community


