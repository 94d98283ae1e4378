"""Direct messages: create a 1:1 or group conversation, list the caller's, add members, leave.

Membership is the only permission (kraken.rbac.access_dm_group). Messages go through the one send
path (kraken.messages.service.send_direct) and are stored with the channels' layout, per group.
Sockets follow membership: dm_members_added / dm_member_left (kraken.domain) move them into and out
of `dm:<id>` (kraken.realtime.subscriptions). A deleted account leaves its conversations (`user_removing`).
"""
from __future__ import annotations

from bson import ObjectId
from mongoengine import NotUniqueError

from kraken import domain
from kraken.common.lookups import by_ids
from kraken.direct_messages.models import (DirectMessageGroup, DirectMessageMembership, DirectPair, membership_key,
                                          pair_key)
from kraken.direct_messages.schemas import MAX_MEMBERS, GroupCreateIn, group_out, member_out
from kraken.errors import ForbiddenError, ValidationError
from kraken.friends.lookups import blocked_between
from kraken.messages import timeline
from kraken.messages.schemas import message_out
from kraken.rbac import access_dm_group
from kraken.users.models import User


def _existing_users(user_ids) -> list[ObjectId]:
    """The ids, each once, once every one names a user; raises ValidationError."""
    ids = [ObjectId(str(u)) for u in dict.fromkeys(str(u) for u in user_ids)]
    found = {u.id for u in by_ids(User, ids)}
    if missing := [str(u) for u in ids if u not in found]:
        raise ValidationError([f"userIds: unknown user {u}" for u in missing])
    return ids


def _add(group_id: ObjectId, user_ids) -> list[ObjectId]:
    """Insert the memberships that do not exist yet; returns the users added."""
    added = []
    for user_id in user_ids:
        try:
            DirectMessageMembership(id=membership_key(group_id, user_id), group_id=group_id,
                                    user_id=user_id).save(force_insert=True)
            added.append(user_id)
        except NotUniqueError:
            pass
    return added


def _members(group_id) -> list[DirectMessageMembership]:
    return sorted(DirectMessageMembership.objects(group_id=group_id), key=lambda m: (m.joined_at, m.id))


def view(group) -> dict:
    """Group JSON: members with their users, and the newest message (one bucket read)."""
    memberships = _members(group.id)
    users = {u.id: u for u in by_ids(User, [m.user_id for m in memberships])}
    members = [member_out(m, users[m.user_id]) for m in memberships if m.user_id in users]
    newest, _ = timeline.older(group.id, 1)
    return group_out(group, members, message_out(newest[0]) if newest else None)


def _new_group(member_ids, name, is_group: bool) -> DirectMessageGroup:
    group = DirectMessageGroup(name=name, is_group=is_group)
    group.save(force_insert=True)
    _add(group.id, member_ids)
    return group


def _forget(group: DirectMessageGroup) -> None:
    DirectMessageMembership.objects(group_id=group.id).delete()
    group.delete()


def _one_to_one(actor, other: ObjectId, name) -> DirectMessageGroup:
    """The one 1:1 conversation of the two users: the existing one, or a new one. Of two concurrent
    creations the first to insert the pair's key wins; the other drops its group and takes the winner's
    (created, with its members, before its key was inserted). A new one is refused (403) between two
    users of whom one blocked the other; an existing one stays (docs/decisions/0058-friends-and-blocks.md)."""
    key = pair_key(actor.id, other)
    pair = DirectPair.objects(id=key).first()
    if pair is None:
        if blocked_between(actor.id, other):
            raise ForbiddenError("Cannot start a direct conversation with this user: one of you blocked the other",
                                 code="USER_BLOCKED")
        group = _new_group([actor.id, other], name, is_group=False)
        try:
            DirectPair(id=key, group_id=group.id).save(force_insert=True)
            domain.dm_members_added.send(group.id, user_ids=[actor.id, other])
            return group
        except NotUniqueError:
            _forget(group)
            pair = DirectPair.objects(id=key).first()
    group = DirectMessageGroup.objects(id=pair.group_id).first()
    # a member who left comes back when the conversation is opened again
    if added := _add(group.id, [actor.id, other]):
        domain.dm_members_added.send(group.id, user_ids=added)
    return group


def create(actor, body: GroupCreateIn) -> dict:
    """A new conversation with the caller and `userIds`; an existing 1:1 conversation is returned
    instead of a second one. Raises ValidationError (unknown users, no one else, isGroup false with
    several others), ForbiddenError (a new 1:1 conversation across a block)."""
    others = [u for u in _existing_users(body.userIds) if u != actor.id]
    if not others:
        raise ValidationError(["userIds: name at least one user other than yourself"])
    is_group = body.isGroup if body.isGroup is not None else len(others) > 1
    if not is_group:
        if len(others) > 1:
            raise ValidationError(["isGroup: a 1:1 conversation has exactly one other user"])
        return view(_one_to_one(actor, others[0], body.name))
    group = _new_group([actor.id, *others], body.name, is_group=True)
    domain.dm_members_added.send(group.id, user_ids=[actor.id, *others])
    return view(group)


def mine(actor) -> list[dict]:
    """The caller's conversations, the most recently active first (one indexed equality, then one
    `_id` look-up and one bucket read per group)."""
    group_ids = list(DirectMessageMembership.objects(user_id=actor.id).scalar("group_id"))
    views = [view(g) for g in by_ids(DirectMessageGroup, group_ids)]
    return sorted(views, key=lambda v: (v["lastMessage"] or {}).get("sentAt") or v["createdAt"], reverse=True)


def get(actor, group_id: str) -> dict:
    return view(access_dm_group(actor, group_id))


def add_members(actor, group_id: str, user_ids) -> dict:
    """A member adds users to a group conversation. Raises NotFoundError (not a member),
    ForbiddenError (a 1:1 conversation: DM_NOT_GROUP), ValidationError (unknown users, too many)."""
    group = access_dm_group(actor, group_id)
    if not group.is_group:
        raise ForbiddenError("Members cannot be added to a 1:1 conversation", code="DM_NOT_GROUP")
    ids = _existing_users(user_ids)
    if DirectMessageMembership.objects(group_id=group.id).count() + len(ids) > MAX_MEMBERS:
        raise ValidationError([f"userIds: a conversation has at most {MAX_MEMBERS} members"])
    if added := _add(group.id, ids):
        domain.dm_members_added.send(group.id, user_ids=added)
    return view(group)


def _leave(group_id: ObjectId, user_id: ObjectId) -> None:
    DirectMessageMembership.objects(id=membership_key(group_id, user_id)).delete()
    domain.dm_member_left.send(group_id, user_id=user_id)


def leave(actor, group_id: str) -> None:
    """The caller leaves; their sockets leave `dm:<id>`. Raises NotFoundError (not a member)."""
    group = access_dm_group(actor, group_id)
    _leave(group.id, actor.id)


def _user_removing(user) -> None:
    """A deleted account leaves each of its conversations as a member who leaves does (its sockets,
    its notifications there, its place in a call); the conversations and their messages stay."""
    for group_id in list(DirectMessageMembership.objects(user_id=user.id).scalar("group_id")):
        _leave(group_id, user.id)


def init_app() -> None:
    domain.connect(domain.user_removing, _user_removing)
