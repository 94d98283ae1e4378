"""Instance administration: the users list with search and exact continuation, role changes, bans,
deletion, and the communities list, statistics and forced deletion
(docs/decisions/0063-running-an-instance-from-the-client.md)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from bson import ObjectId

from kraken import dependents, domain
from kraken.auth.service import revoke_user_sessions
from kraken.channel_memberships.models import ChannelMembership
from kraken.channels.models import Channel
from kraken.common.lookups import PARALLEL, by_ids
from kraken.communities import service as communities
from kraken.communities.models import Community
from kraken.errors import ForbiddenError, ValidationError
from kraken.memberships.models import Membership
from kraken.messages import timeline
from kraken.messages.models import MessageTombstone
from kraken.rbac import InstanceRole, require_may_act_on_account, require_may_change_instance_role
from kraken.realtime.publish import disconnect_sockets
from kraken.roles.models import UserRole
from kraken.users import directory, service as users
from kraken.users.lookups import get_user
from kraken.users.models import User

CHUNK = 50  # users loaded per round while a page is filled


def _users_collection():
    return User._get_collection()


def _candidates(search: str | None, banned: str | None, role: str | None,
                before: datetime | None, want: int) -> Iterator[list[tuple]]:
    """Batches of (createdAt, id) of the users the filters may admit, newest first across batches, from the
    narrowest equality the filters allow: the banned users or the owners, else the search index (which
    also lists every user, newest first, for no search)."""
    if not (search and search.strip()):
        query = {"disabled": True} if banned == "true" else (
            {"role": InstanceRole.OWNER.value} if role == InstanceRole.OWNER.value else None)
        if query is not None:
            return iter((sorted(((d["createdAt"], d["_id"]) for d in _users_collection().find(query, {"createdAt": 1})),
                                reverse=True),))
    return directory.newest_matches(search or "", before, want)


def _admits(user: User, search: str | None, banned: str | None, role: str | None) -> bool:
    if banned is not None and bool(user.disabled) != (banned == "true"):
        return False
    if role is not None and user.role != role:
        return False
    if search and search.strip():
        text = directory.searched_text(user.username, user.email, user.display_name)
        return any(search.strip().lower() in part for part in text.split(directory.SEPARATOR))
    return True


def list_users(*, limit: int, token: str | None, banned: str | None = None, role: str | None = None,
               search: str | None = None) -> tuple[list[User], str | None]:
    """A page of users, newest first (createdAt, then id), after the user named by `token`.

    The order is by creation, so users registering between two pages come before the first page and
    never shift the later ones: no duplicate, no skip. Candidates are read newest first and only until
    the page is full. Raises ValidationError for an unknown token."""
    after = None
    if token:
        cursor = _users_collection().find_one({"_id": ObjectId(token)}, {"createdAt": 1})
        if cursor is None:
            raise ValidationError(["continuationToken: unknown cursor"], code="INVALID_CURSOR")
        after = (cursor["createdAt"], cursor["_id"])
    page: list[User] = []
    for batch in _candidates(search, banned, role, after[0] if after else None, limit + 1):
        ids = [oid for c in batch if after is None or c < after for oid in (c[1],)]
        start = 0
        while start < len(ids):
            # the candidates mostly pass (they come from the narrowest equality), so load about as many
            # as the page still needs (with the one that tells whether a next page exists)
            size = min(CHUNK, max(PARALLEL, limit + 1 - len(page)))
            for user in by_ids(User, ids[start:start + size]):
                if _admits(user, search, banned, role):
                    page.append(user)
                    if len(page) > limit:
                        return page[:limit], str(page[limit - 1].id)
            start += size
    return page, None


def change_role(actor, user_id: str, role: str) -> User:
    """OWNER or USER. Only an OWNER grants or changes OWNER; the last OWNER stays one (403).

    Demotion first, then the count: two owners demoting each other at once both see none left and both
    undo theirs, so the instance never ends without an owner."""
    target = get_user(user_id)
    require_may_change_instance_role(actor, target, role)
    if role == target.role:
        return target
    User.objects(id=target.id).update_one(set__role=role)
    dependents.wrote(target)
    if role == InstanceRole.USER.value and not User.objects(role=InstanceRole.OWNER.value).count():
        User.objects(id=target.id).update_one(set__role=InstanceRole.OWNER.value)
        dependents.wrote(target)
        raise ForbiddenError("Cannot demote the last owner. Promote another user first.", code="LAST_OWNER")
    target.reload()
    return target


def ban(actor, user_id: str, banned: bool) -> User:
    """Ban (end every refresh session, close every socket on every process) or unban. 403 for oneself
    or an OWNER; 404."""
    target = get_user(user_id)
    if banned:
        require_may_act_on_account(actor, target, "ban")
    return users.set_disabled(str(target.id), banned, by=actor.id)


def delete_user(actor, user_id: str) -> None:
    """Delete an account: its sessions, sockets, memberships and roles go, and through `user_removing`
    each feature's rows of the user (friendships, DM memberships, notifications, ...); its messages stay,
    shown as a deleted user (their authorId names no one), and so does the moderation log. 403 for
    oneself or an OWNER; 404.

    The user document goes last: a delete that failed half-way is finished by running it again."""
    target = get_user(user_id)
    require_may_act_on_account(actor, target, "delete")
    revoke_user_sessions(target.id, "deleted")
    domain.user_removing.send(target)
    for membership in Membership.objects(user_id=target.id):
        cid = membership.community_id
        membership.delete()
        ChannelMembership.objects(community_id=cid, user_id=target.id).delete()
        UserRole.objects(community_id=cid, user_id=target.id).delete()
        dependents.wrote(membership, ChannelMembership, UserRole, community_id=cid)
        domain.member_left.send(cid, user_id=target.id,
                                channel_ids=list(Channel.objects(community_id=cid).scalar("id")))
    UserRole.objects(user_id=target.id, community_id=None).delete()
    dependents.wrote(UserRole, community_id=None)
    if target.disabled:
        users.set_disabled(str(target.id), False)  # the banned count forgets it
    users.delete_account(target)
    disconnect_sockets(str(target.id))


# communities ----------------------------------------------------------------------------------------

def _community_counts(community_id: object, with_messages: bool) -> dict[str, int]:
    channel_ids = [str(c) for c in Channel.objects(community_id=community_id).scalar("id")]
    counts = {"memberCount": Membership.objects(community_id=community_id).count(), "channelCount": len(channel_ids)}
    if with_messages:  # numbered minus deleted, from each channel's counter (no message is read)
        numbered = timeline.community_last_seqs(community_id, channel_ids) if channel_ids else {}
        deleted = sum(MessageTombstone.objects(channel_id=ObjectId(c)).count() for c in channel_ids)
        counts["messageCount"] = max(sum(numbered.values()) - deleted, 0)
    return counts


def list_communities(*, limit: int, token: str | None, search: str | None) -> tuple[list[tuple], str | None]:
    """[(community, counts)] newest first after `token` (a community id); `search`: a case-insensitive
    substring of the name. Communities are few (names are unique instance-wide): one read of all."""
    rows = sorted(((d["createdAt"], d["_id"]) for d in Community._get_collection().find(
        {}, {"createdAt": 1, "nameKey": 1}) if not search or search.strip().lower() in d.get("nameKey", "")),
        reverse=True)
    if token:
        cursor = Community._get_collection().find_one({"_id": ObjectId(token)}, {"createdAt": 1})
        if cursor is None:
            raise ValidationError(["continuationToken: unknown cursor"], code="INVALID_CURSOR")
        rows = [r for r in rows if r < (cursor["createdAt"], cursor["_id"])]
    page = by_ids(Community, [oid for _, oid in rows[:limit]])
    more = str(page[-1].id) if len(rows) > limit and page else None
    return [(c, _community_counts(c.id, False)) for c in page], more


def community_with_counts(community_id: str) -> tuple[Community, dict[str, int]]:
    community = communities.get(community_id)
    return community, _community_counts(community.id, True)


def force_delete_community(community_id: str) -> None:
    """Delete a community and all it holds; its members get `communityDeleted` (the reference sent none)."""
    communities.delete(communities.get(community_id))
