"""Domain events: what a lower layer announces and a higher one reacts to (docs/architecture.md).

A service writes its data, then sends one of these signals. Reactions (sockets moving rooms, voice
leaving LiveKit, files and messages removed with their channel) live in the features that own them
and are connected once, from the app factory (`create_app` calls each feature's `init_app`), never by
importing a module. A service therefore never imports what reacts to it, and the dependency graph
runs one way: routes and reactions → services → this module.

Signals are blinker's (Flask's own dependency). Receivers run synchronously in the sending thread,
after the write succeeded, in the order they were connected (blinker's `set_class` hook, given an
insertion-ordered set): create_app connects the rooms reactions first, so a removed member's sockets
leave their rooms before voice announces their departure there. An exception in a receiver propagates
to the sender, so a reaction that must not fail the write (voice clean-ups) catches and logs its own.
"""
from __future__ import annotations

from collections.abc import Iterable, MutableSet

from blinker import NamedSignal


class _InsertionOrderedSet(MutableSet):
    """The smallest ordered set blinker needs (`add`, `discard`, `copy`, `|`, iteration)."""

    def __init__(self, items: Iterable = ()) -> None:
        self._items = dict.fromkeys(items)

    def __contains__(self, item) -> bool:
        return item in self._items

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item) -> None:
        self._items[item] = None

    def discard(self, item) -> None:
        self._items.pop(item, None)

    def copy(self) -> "_InsertionOrderedSet":
        return _InsertionOrderedSet(self._items)


class Event(NamedSignal):
    """A named signal whose receivers run in connection order."""

    set_class = _InsertionOrderedSet


class _Namespace(dict):
    def signal(self, name: str) -> Event:
        return self.setdefault(name, Event(name))


_signals = _Namespace()

# Data that hangs on channels or communities is removed before them:
# channels_removing(community_id, channel_ids=[...]); community_removing(community_id, channel_ids=[...]).
channels_removing = _signals.signal("channels-removing")
community_removing = _signals.signal("community-removing")

# After the write: sender is the channel document, or the community id.
channel_created = _signals.signal("channel-created")          # (channel, actor_id=)
channel_updated = _signals.signal("channel-updated")          # (channel, was_private=)
channel_deleted = _signals.signal("channel-deleted")          # (community_id, channel_id=)
community_deleted = _signals.signal("community-deleted")      # (community_id, channel_ids=)

# Membership changes, sender is the community id (or the channel document for private channels).
member_joined = _signals.signal("member-joined")              # (community_id, user_id=, announce=)
member_left = _signals.signal("member-left")                  # (community_id, user_id=, channel_ids=)
channel_access_granted = _signals.signal("channel-access-granted")  # (channel, user_id=)
channel_access_revoked = _signals.signal("channel-access-revoked")  # (channel, user_id=)

# Direct-message groups, sender is the group id: members added (a new group's members included), one left.
dm_members_added = _signals.signal("dm-members-added")        # (group_id, user_ids=)
dm_member_left = _signals.signal("dm-member-left")            # (group_id, user_id=)

# A message was stored by a send (numbered: `seq` set), before it is broadcast: sender is the Message.
message_stored = _signals.signal("message-stored")            # (message)

# A message was deleted (after its document, before `deleteMessage` is sent): sender is the Message.
message_deleted = _signals.signal("message-deleted")          # (message)

# A message's text was edited (after its document, before `updateMessage` is sent): sender is the Message
# as stored now; previous_spans= its spans before the edit.
message_edited = _signals.signal("message-edited")            # (message, previous_spans=)

# One of a user's sockets closed (sid), or presence took the user offline (sid=None), after presence
# forgot the socket, so a receiver can ask kraken.presence whether another keeps the user: sender is the user.
socket_closed = _signals.signal("socket-closed")              # (user, sid=)

# A notification was stored for its recipient (after `newNotification` was published): sender is the
# Notification. Web push (issue 22) sends it on to a recipient without an active socket.
notification_created = _signals.signal("notification-created")  # (notification)

# Alias (mention) groups, sender is the group id: members added (a new group's included), members removed
# (taken out of the group, or out of the community), the group deleted (alone, or with its community).
alias_members_added = _signals.signal("alias-members-added")      # (group_id, user_ids=)
alias_members_removed = _signals.signal("alias-members-removed")  # (group_id, user_ids=)
alias_group_deleted = _signals.signal("alias-group-deleted")      # (group_id)
# Issue 21's lifecycle announcements, after the write (never for what community creation writes):
# sender is the document written, or the community id for a deleted role.
community_updated = _signals.signal("community-updated")      # (community)
role_created = _signals.signal("role-created")                # (role)
role_updated = _signals.signal("role-updated")                # (role)
role_deleted = _signals.signal("role-deleted")                # (community_id, role_id=)
role_assigned = _signals.signal("role-assigned")              # (role, user_id=)
role_unassigned = _signals.signal("role-unassigned")          # (role, user_id=)
profile_updated = _signals.signal("profile-updated")          # (user)

# An account is being deleted (kraken.admin): sent once, after its sessions are revoked and before its
# memberships, roles and user document go, so a receiver still finds whatever it needs. Each feature
# deletes the user's own rows in its collections (messages and the moderation log stay, decision 0063).
# Sender: the User document.
user_removing = _signals.signal("user-removing")              # (user)

ALL = (channels_removing, community_removing, channel_created, channel_updated, channel_deleted,
       community_deleted, member_joined, member_left, channel_access_granted, channel_access_revoked,
       socket_closed, dm_members_added, dm_member_left, message_deleted, message_stored, message_edited,
       notification_created, alias_members_added, alias_members_removed, alias_group_deleted, community_updated,
       role_created, role_updated, role_deleted, role_assigned, role_unassigned, profile_updated, user_removing)


def connect(signal, receiver) -> None:
    """Connect a reaction (idempotent: blinker keys receivers by identity, and create_app may run
    several times in one process). Held strongly: reactions are module-level functions."""
    signal.connect(receiver, weak=False)
