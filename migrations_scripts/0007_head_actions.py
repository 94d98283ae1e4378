"""The current client's actions in the default roles of existing communities and instances
(docs/decisions/0052-head-actions-and-templates.md).

Every default community role (`isDefault`, named Community Admin, Moderator or Member) gains the actions
its template now holds and it lacks (`$addToSet`: actions an admin removed from a default role before
this are added back only if the template gained them now; nothing is ever removed). Instance Admin
gains the instance settings, stats, storage and ban actions, and the other default instance roles (User
Manager, Invite Manager, Community Creator) are created. The permission caches of every changed
role's community are dropped (`dependents.wrote`). Idempotent: a second run changes nothing.
"""
from __future__ import annotations

# only the actions added by this migration: a template action an admin removed before it stays removed
ADDED = {
    "Community Admin": ["UPDATE_ALIAS_GROUP_MEMBER", "CAPTURE_REPLAY", "BAN_USER", "KICK_USER", "TIMEOUT_USER",
                        "UNBAN_USER", "PIN_MESSAGE", "UNPIN_MESSAGE", "DELETE_ANY_MESSAGE", "VIEW_BAN_LIST",
                        "VIEW_MODERATION_LOGS", "MUTE_PARTICIPANT"],
    "Moderator": ["CAPTURE_REPLAY", "KICK_USER", "TIMEOUT_USER", "PIN_MESSAGE", "UNPIN_MESSAGE",
                  "DELETE_ANY_MESSAGE", "VIEW_BAN_LIST", "MUTE_PARTICIPANT"],
    "Member": ["READ_ALIAS_GROUP", "READ_ALIAS_GROUP_MEMBER", "CAPTURE_REPLAY"],
    "Instance Admin": ["READ_INSTANCE_SETTINGS", "UPDATE_INSTANCE_SETTINGS", "READ_INSTANCE_STATS",
                       "MANAGE_USER_STORAGE", "BAN_USER"],
}


def up(db, echo):
    from kraken import dependents
    from kraken.roles.models import Role
    from kraken.roles.service import ensure_instance_roles

    changed = 0
    for name, actions in ADDED.items():
        for role in Role.objects(name=name, is_default=True).only("id", "community_id", "actions"):
            if set(actions) <= set(role.actions):
                continue
            Role.objects(id=role.id).update_one(add_to_set__actions=actions)
            dependents.wrote(role)
            changed += 1
    ensure_instance_roles()
    echo(f"  default roles given the current client's actions: {changed}")
