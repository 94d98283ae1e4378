"""The gate's rules for single features: who may create communities and invites, delete invites,
grant role actions, edit and delete messages, upload and read files, and whose memberships a
caller may list. Services and routes ask here; none re-implements a rule."""
from __future__ import annotations

import math
import time

from kraken.alias_groups.models import AliasGroup
from kraken.common.lookups import by_ids
from kraken.common.permissions import COMMUNITY_ADMIN, INSTANCE_ADMIN_ACTIONS, MEMBER, MODERATOR, Action, InstanceRole
from kraken.errors import FeatureDisabledError, ForbiddenError, NotFoundError, ValidationError
from kraken.files.models import COMMUNITY_AVATAR, COMMUNITY_BANNER, MESSAGE_ATTACHMENT, USER_AVATAR, File
from kraken.invites.models import Invite
from kraken.direct_messages.models import DirectMessageGroup
from kraken.rbac.access import (access_channel, access_community, access_dm_group, message_access,
                               require_community_actions)
from kraken.rbac.grants import Grant, community_grant, instance_grant, is_owner
from kraken.roles.models import Role, UserRole

# --- communities ----------------------------------------------------------------------------


def require_may_create_community(actor, creation_mode: str) -> None:
    """Everyone may create communities unless the instance restricts it
    (docs/decisions/0009-actions-and-default-roles.md); raises FeatureDisabledError."""
    if creation_mode == "admins" and not is_owner(actor) \
            and not instance_grant(actor).has(Action.CREATE_COMMUNITY):
        raise FeatureDisabledError("Only administrators can create communities on this instance")


# --- invites --------------------------------------------------------------------------------


def require_may_invite(actor, community_ids: list) -> str:
    """The scope of the invite `POST /api/invite` makes, once the actor may make it.

    Exactly one community from someone without instance invite rights makes a COMMUNITY invite
    (docs/decisions/0012-invites.md); anything else an INSTANCE one, which needs
    CREATE_INSTANCE_INVITE. Every listed
    community needs CREATE_INVITE there (an invite must not let strangers into communities its
    creator could not invite to). Raises ForbiddenError.
    """
    instance_rights = instance_grant(actor).has(Action.CREATE_INSTANCE_INVITE)
    scope = "COMMUNITY" if len(community_ids) == 1 and not instance_rights else "INSTANCE"
    if is_owner(actor):
        return scope
    if scope == "INSTANCE" and not instance_rights:
        raise ForbiddenError("Missing permission: CREATE_INSTANCE_INVITE")
    for community_id in community_ids:
        grant = community_grant(actor, community_id)
        if not grant.member or not grant.has(Action.CREATE_INVITE):
            raise ForbiddenError("Missing permission: CREATE_INVITE in community " + str(community_id))
    return scope


def access_invite_to_delete(actor, code: str):
    """Load an invite the actor may delete: its creator, the owner, DELETE_INSTANCE_INVITE holders
    (instance invites), members holding DELETE_INVITE in each of its communities (community invites).
    Raises NotFoundError, ForbiddenError."""
    invite = Invite.objects(code=code).first()
    if invite is None:
        raise NotFoundError("Invite not found")
    if is_owner(actor) or (invite.created_by_id is not None and invite.created_by_id == actor.id):
        return invite
    if invite.scope == "INSTANCE":
        if not instance_grant(actor).has(Action.DELETE_INSTANCE_INVITE):
            raise ForbiddenError("Missing permission: DELETE_INSTANCE_INVITE")
        return invite
    for community_id in invite.community_ids:
        grant = community_grant(actor, community_id)
        if not (grant.member and grant.has(Action.DELETE_INVITE)):
            raise ForbiddenError("Missing permission: DELETE_INVITE")
    return invite


# --- roles ----------------------------------------------------------------------------------


def require_grantable(actor, grant: Grant, actions) -> None:
    """No escalation: only actions the actor holds in the community (`grant`) may be given, in a
    role or by assigning one; the owner gives anything. Raises ForbiddenError (ROLE_ESCALATION)."""
    if is_owner(actor):
        return
    beyond = sorted(set(actions) - set(grant.actions))
    if beyond:
        raise ForbiddenError("Cannot grant permissions you do not have: " + ", ".join(beyond),
                             code="ROLE_ESCALATION")


def require_may_change_actions(actor, grant: Grant, role, actions) -> None:
    """Changing a role's actions: no escalation, and the default Community Admin role is the
    owner's alone. Raises ForbiddenError (ROLE_ESCALATION, DEFAULT_ROLE)."""
    require_grantable(actor, grant, actions)
    if role.is_default and role.name == COMMUNITY_ADMIN and not is_owner(actor):
        raise ForbiddenError("Only the instance owner can change the Community Admin role", code="DEFAULT_ROLE")


# --- alias groups ---------------------------------------------------------------------------


def access_alias_group(actor, group_id: object, *actions: Action):
    """Load an alias group once the actor holds `actions` in its community (kraken-head-features §6:
    the ALIAS_GROUP resource resolves to the group's community). An unknown group is a 404, not the
    reference's 403 (docs/decisions/0061-alias-groups.md). Raises NotFoundError, ForbiddenError."""
    group = AliasGroup.objects(id=group_id).first()
    if group is None:
        raise NotFoundError("Alias group not found")
    require_community_actions(actor, group.community_id, *actions)
    return group


# --- messages -------------------------------------------------------------------------------


def access_message_to_edit(actor, message_id: object):
    """(message, channel): the author's own message in a channel they may read (a direct message: in a
    group they are a member of; channel None).
    Raises NotFoundError, ForbiddenError."""
    message, channel, _ = message_access(actor, message_id, Action.READ_MESSAGE)
    if message.author_id != actor.id:
        raise ForbiddenError("Only the author can edit a message")
    return message, channel


def access_message_to_delete(actor, message_id: object):
    """A message its author, or a DELETE_MESSAGE holder of its community, may delete (a direct message:
    its author only).
    Raises NotFoundError, ForbiddenError."""
    message, _, grant = message_access(actor, message_id)
    if message.author_id != actor.id and (grant is None or not grant.has(Action.DELETE_MESSAGE)):
        raise ForbiddenError("Missing permission: DELETE_MESSAGE")
    return message


def access_thread_parent(actor, message_id: object, *actions: Action, root: bool = True):
    """(message, channel): a thread's parent the actor may read, holding `actions` in its community
    (channel None for a direct message: membership of its group is the permission). `root`: the message
    must not be a reply itself (no nested threads). Raises NotFoundError "Parent message not found"
    (missing, or in a conversation they cannot see), ForbiddenError, ValidationError (nested)."""
    try:
        message, channel, _ = message_access(actor, message_id, *actions)
    except NotFoundError:
        raise NotFoundError("Parent message not found") from None
    if root and message.parent_message_id is not None:
        raise ValidationError("Cannot create nested threads", code="NESTED_THREAD")
    return message, channel


# --- files ----------------------------------------------------------------------------------


def access_upload_target(actor, resource_type: str, resource_id: str | None):
    """(resource id, community id) of the resource an upload is for, once the actor may change it:
    their own avatar; CREATE_ATTACHMENT in a channel they may enter; UPDATE_COMMUNITY for a
    community's images. `resource_id` is required (the service checks) except for avatars.
    Raises NotFoundError, ForbiddenError."""
    if resource_type == USER_AVATAR:
        if resource_id is not None and resource_id != str(actor.id):
            raise ForbiddenError("You can only upload your own avatar")
        return actor.id, None
    if resource_type == MESSAGE_ATTACHMENT:
        if _is_dm_group(resource_id):  # an attachment for a direct message: its group's members
            return access_dm_group(actor, resource_id).id, None
        channel = access_channel(actor, resource_id, Action.CREATE_ATTACHMENT, enter=True)
        return channel.id, channel.community_id
    community = access_community(actor, resource_id, Action.UPDATE_COMMUNITY)
    return community.id, community.id


def _is_dm_group(resource_id: object) -> bool:
    """Whether an attachment's resource is a direct-message group (else a channel): one `_id` look-up."""
    return resource_id is not None and DirectMessageGroup.objects(id=resource_id).count() > 0


def _file_not_found() -> NotFoundError:
    return NotFoundError("File not found")


def access_file(actor, file_id: object):
    """Load a file the actor may read. Attachments: readers of the channel or members of the
    direct-message group (only the uploader until
    it is attached to a message); user avatars: everyone; community images: members.
    Raises NotFoundError (missing or invisible), ForbiddenError (not a member of the community)."""
    record = File.objects(id=file_id).first()
    if record is None:
        raise _file_not_found()
    try:
        if record.resource_type == MESSAGE_ATTACHMENT:
            if record.message_id is None and record.uploaded_by_id != actor.id:
                raise _file_not_found()
            if _is_dm_group(record.resource_id):
                access_dm_group(actor, record.resource_id)
            else:
                access_channel(actor, record.resource_id, Action.READ_MESSAGE, enter=True)
        elif record.resource_type in (COMMUNITY_AVATAR, COMMUNITY_BANNER):
            access_community(actor, record.resource_id)
    except NotFoundError:
        raise _file_not_found() from None
    return record


def access_own_file(actor, file_id: object):
    """Load a file the actor uploaded (to delete it). Raises NotFoundError (missing or invisible),
    ForbiddenError (someone else's file, once they may see it: the 403 reveals nothing new)."""
    record = File.objects(id=file_id).first()
    if record is None:
        raise _file_not_found()
    if record.uploaded_by_id != actor.id:
        access_file(actor, file_id)
        raise ForbiddenError("You can only delete your own files")
    return record


# --- whose memberships a caller may list ----------------------------------------------------


def visible_memberships(actor, user_id: object, community_ids) -> set[str]:
    """Of `user_id`'s communities, those whose membership the actor may see: all for the user
    themself and the owner, else the shared ones where the actor holds READ_MEMBER."""
    ids = {str(c) for c in community_ids}
    if str(actor.id) == str(user_id) or is_owner(actor):
        return ids
    return {c for c in ids if (grant := community_grant(actor, c)).member and grant.has(Action.READ_MEMBER)}


def visible_channel_memberships(actor, user_id: object, channels) -> set[str]:
    """Of `user_id`'s private channels, `channels` as (community id, channel id) pairs, those whose
    membership the actor may see: all for the user themself and the owner, else those the actor
    sees (a channel member, or UPDATE_CHANNEL) in communities where they hold READ_MEMBER."""
    if str(actor.id) == str(user_id) or is_owner(actor):
        return {str(ch) for _, ch in channels}
    seen = set()
    for community_id, channel_id in channels:
        grant = community_grant(actor, community_id)
        if grant.member and grant.has(Action.READ_MEMBER) \
                and (str(channel_id) in grant.private_channels or grant.has(Action.UPDATE_CHANNEL)):
            seen.add(str(channel_id))
    return seen


# --- moderation (docs/decisions/0053-moderation.md) ------------------------------------------

# The reference's name-based priorities (kraken-later-endpoints §3.3): any other role counts as a
# Member's, no role at all as 0. The instance owner stands above every priority.
ROLE_PRIORITY = {"Owner": 100, COMMUNITY_ADMIN: 80, "Admin": 80, MODERATOR: 50, MEMBER: 10}
OTHER_ROLE_PRIORITY = 10


def role_priority(user, community_id: object) -> int:
    """The highest priority among the user's roles in the community (0 without a role)."""
    grant = community_grant(user, community_id)
    if not grant.member:
        return 0
    role_ids = grant.role_ids
    if role_ids is None:  # an answer cached before role ids were recorded
        role_ids = [str(r) for r in UserRole.objects(user_id=user.id, community_id=community_id).scalar("role_id")]
    names = by_ids(Role, sorted(role_ids), "name")
    return max((ROLE_PRIORITY.get(name, OTHER_ROLE_PRIORITY) for name in names), default=0)


def require_may_moderate(actor, target, community_id: object, verb: str) -> None:
    """Who may ban, kick or time out whom: nobody acts on themselves or on an instance owner (another
    owner included); an owner acts on anyone else; anyone else only on a user of strictly lower role
    priority in the community. Raises ForbiddenError (SELF_MODERATION, ROLE_HIERARCHY)."""
    if str(actor.id) == str(target.id):
        raise ForbiddenError(f"You cannot {verb} yourself", code="SELF_MODERATION")
    if is_owner(target):
        raise ForbiddenError(f"Cannot {verb} an instance owner", code="ROLE_HIERARCHY")
    if is_owner(actor):
        return
    if role_priority(actor, community_id) <= role_priority(target, community_id):
        raise ForbiddenError(f"Cannot {verb} a user with equal or higher role", code="ROLE_HIERARCHY")


def require_not_timed_out(actor, community_id: object) -> None:
    """Sending, editing and reacting in a community end for a timed-out member until the timeout's end
    (read from the permission answer every send already holds: no extra look-up). Raises
    ForbiddenError (TIMED_OUT) with the reference's message."""
    until = community_grant(actor, community_id).timed_out_until
    if until is None:
        return
    remaining = until - time.time()
    if remaining > 0:
        raise ForbiddenError("You are timed out in this community. Time remaining: "
                             f"{math.ceil(remaining)} seconds", code="TIMED_OUT")
# --- instance administration (docs/decisions/0063-running-an-instance-from-the-client.md) -------------


# What an instance role may hold: Instance Admin's 12, UNBAN_USER (User Manager) and the instance-wide
# community actions (creating any, reading and deleting every one from the admin pages).
INSTANCE_ACTIONS = frozenset(a.value for a in (*INSTANCE_ADMIN_ACTIONS, Action.UNBAN_USER, Action.CREATE_COMMUNITY,
                                               Action.READ_ALL_COMMUNITIES, Action.DELETE_COMMUNITY))


def require_may_change_instance_role(actor, target, role: str) -> None:
    """Only an OWNER makes an OWNER or changes an OWNER's role (the reference let any UPDATE_USER
    holder do both). Raises ForbiddenError (OWNER_ONLY)."""
    if (role == InstanceRole.OWNER.value or target.role == InstanceRole.OWNER.value) and not is_owner(actor):
        raise ForbiddenError("Only an instance owner can grant or change the owner role", code="OWNER_ONLY")


def require_may_act_on_account(actor, target, what: str) -> None:
    """Ban and delete: never oneself, never an OWNER. Raises ForbiddenError."""
    if str(actor.id) == str(target.id):
        raise ForbiddenError("Cannot ban yourself" if what == "ban" else
                             "Cannot delete your own account through admin panel", code="SELF")
    if target.role == InstanceRole.OWNER.value:
        raise ForbiddenError(f"Cannot {what} an instance owner", code="OWNER_PROTECTED")


def require_instance_grantable(actor, actions, kept=()) -> None:
    """Instance roles: only instance actions (INSTANCE_ACTIONS, plus `kept`: what a role already holds,
    e.g. the default Community Creator's community actions), and no escalation (only actions the actor
    holds on the instance). Raises ValidationError (400) for another action, ForbiddenError (ROLE_ESCALATION)."""
    foreign = sorted(set(actions) - INSTANCE_ACTIONS - set(kept))
    if foreign:
        raise ValidationError(["actions: not instance actions: " + ", ".join(foreign)], code="NOT_INSTANCE_ACTIONS")
    require_grantable(actor, instance_grant(actor), actions)
