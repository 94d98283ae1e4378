"""The permission gate: every "may this actor do X to Y" is answered here (docs/architecture.md).

One resolver serves REST and Socket.IO: a resource (COMMUNITY, CHANNEL, MESSAGE, INSTANCE) is
resolved to its community, and the caller's actions there (the union of their roles' actions,
cached by kraken.permcache) decide. The instance OWNER passes every check. Loaders raise
NotFoundError both for missing objects and for objects the caller may not see (private channels);
list endpoints ask which of their candidates the caller sees (`visible_*`).

- grants: Grant, community_grant, instance_grant, enterable_channels
- access: the `access_*` loaders, channel visibility, `require_*_actions`
- rules: the rules of single features (invites, roles, messages, files, membership lists)
- web: the `require_*` decorators of REST routes and the request's user and resource

The gate sits above the models and the caches and below every service: it never imports a service.
The action vocabulary and role templates live in kraken.common.permissions (models name them too).
"""
from kraken.common.permissions import (ALL_ACTIONS, COMMUNITY_ADMIN, COMMUNITY_ADMIN_ACTIONS, DEFAULT_COMMUNITY_ROLES,
                                       DEFAULT_INSTANCE_ROLES, INSTANCE_ADMIN, INSTANCE_ADMIN_ACTIONS, MEMBER,
                                       MEMBER_ACTIONS, MODERATOR, MODERATOR_ACTIONS, Action, InstanceRole)
from kraken.rbac.access import (access_channel, access_community, access_dm_group, access_message, admits,
                                can_see_channel, current_grant, deny, is_dm_member, may_enter, message_access,
                                private_channel_entrants, private_channel_viewers, require_community_actions, require_instance_actions,
                                require_may_join_private_channel, require_private_channel, require_socket_in_channel,
                                require_socket_in_dm, visible_channel, visible_channels)
from kraken.rbac.grants import Grant, community_grant, enterable_channels, instance_grant, is_owner
from kraken.rbac.rules import (access_alias_group, access_file, access_invite_to_delete, access_message_to_delete,
                               access_message_to_edit, access_own_file, access_thread_parent, access_upload_target,
                               require_grantable, require_may_moderate, require_not_timed_out, role_priority,
                               require_may_change_actions, require_may_create_community, require_may_invite,
                               visible_channel_memberships, visible_memberships)
from kraken.rbac.rules import (require_instance_grantable, require_may_act_on_account,  # instance administration
                               require_may_change_instance_role)
from kraken.rbac.web import (Resource, authorized_resource, current_session_id, current_user, require_actions,
                             require_auth, require_owner)

__all__ = [
    "ALL_ACTIONS", "COMMUNITY_ADMIN", "COMMUNITY_ADMIN_ACTIONS", "DEFAULT_COMMUNITY_ROLES", "DEFAULT_INSTANCE_ROLES",
    "INSTANCE_ADMIN", "INSTANCE_ADMIN_ACTIONS", "MEMBER", "MEMBER_ACTIONS", "MODERATOR", "MODERATOR_ACTIONS",
    "Action", "InstanceRole", "Grant", "Resource",
    "access_channel", "access_community", "access_file", "access_invite_to_delete", "access_message",
    "access_message_to_delete", "access_message_to_edit", "access_own_file", "access_thread_parent",
    "access_upload_target", "admits",
    "authorized_resource", "can_see_channel", "community_grant", "current_grant", "current_session_id",
    "current_user", "deny", "enterable_channels", "instance_grant", "is_owner", "may_enter", "message_access",
    "private_channel_entrants", "private_channel_viewers", "require_actions", "require_auth", "require_community_actions", "require_grantable",
    "require_instance_actions", "require_may_change_actions", "require_may_create_community",
    "require_may_invite", "require_may_join_private_channel", "require_owner", "require_private_channel",
    "require_socket_in_channel", "require_socket_in_dm", "access_dm_group", "is_dm_member",
    "visible_channel", "visible_channel_memberships", "visible_channels",
    "visible_memberships", "access_alias_group", "require_may_moderate", "require_not_timed_out", "role_priority",
    "require_instance_grantable", "require_may_act_on_account", "require_may_change_instance_role",
]
