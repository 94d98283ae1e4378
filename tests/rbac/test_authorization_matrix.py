"""Authorization matrix (communities issue): every route × every principal → the expected status.

Principals, in column order:
  owner     instance OWNER, not a member of the community
  admin     created the community (Community Admin + Member)
  mod       member with Moderator
  member    plain member
  pcmember  member who belongs to the private channel P
  nopc      member without P
  removed   was a member, removed
  outsider  admin of another community
  anon      no token
Every case starts from the same Club (tests/factories.py); on every denial the database must be unchanged.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from kraken.auth.models import RefreshFamily
from kraken.common.time import utcnow
from kraken.friends import service as friends
from tests.factories import Factory, dump

PRINCIPALS = ("owner", "admin", "mod", "member", "pcmember", "nopc", "removed", "outsider", "anon")

A = "200 200 200 200 200 200 200 200 401"          # any authenticated user
MEMBERS = "200 200 200 200 200 200 403 403 401"    # community members (and the owner)
OWNER_ONLY = "200 403 403 403 403 403 403 403 401"
PRIVATE_READ = "200 200 200 404 200 404 404 404 401"
DM_GROUP_READ = "404 200 404 200 200 404 404 404 401"  # DMG's members: admin, member, pcmember
DM_READ = "404 404 404 200 200 404 404 404 401"        # DM's: member, pcmember (the owner is no exception)
PRIVATE_ENTER = "200 200 404 404 200 404 404 404 401"  # its history: its members and the owners in its community
MEMBERS_204 = MEMBERS.replace("200", "204")
PRIVATE_ENTER_204 = PRIVATE_ENTER.replace("200", "204")
DM_GROUP_204 = DM_GROUP_READ.replace("200", "204")
DM_GROUP_201 = DM_GROUP_READ.replace("200", "201")

MEMBER_SESSION = "65b000000000000000000022"  # a second session of member's, made with the Club below
PUSH_SUBSCRIPTION = {"endpoint": "https://push.example.com/wpush/matrix",
                     "keys": {"p256dh": "BOFj98aNfvAHX8SXgQP1gqwsi9KCE_mFQTTXi0kf_cEiYqeGICLBSJEjFjVYYs2SRFHRcF3W2wRVeOGkN"
                                        "jYMbQE", "auth": "b0YaDvXucxB-K3Grgq7arA"}}

# (method, path, json body or None, expected statuses in PRINCIPALS order)
MATRIX = [
    # communities
    ("POST", "/api/community", {"name": "Brand new"}, "201 201 201 201 201 201 201 201 401"),
    ("GET", "/api/community", None, OWNER_ONLY),
    ("GET", "/api/community/mine", None, A),
    ("GET", "/api/community/{C}", None, MEMBERS),
    ("PATCH", "/api/community/{C}", {"description": "changed"}, "200 200 403 403 403 403 403 403 401"),
    ("DELETE", "/api/community/{C}", None, "204 204 403 403 403 403 403 403 401"),
    ("GET", "/api/community/{C}/invites", None, "200 200 403 403 403 403 403 403 401"),
    ("POST", "/api/community/{C}/invites", {"maxUses": 3}, "201 201 403 403 403 403 403 403 401"),
    # channels
    ("POST", "/api/channels", {"name": "new", "communityId": "{C}", "type": "TEXT", "isPrivate": False},
     "201 201 201 403 403 403 403 403 401"),
    ("GET", "/api/channels/community/{C}", None, MEMBERS),
    ("GET", "/api/channels/{G}", None, MEMBERS),
    ("GET", "/api/channels/{P}", None, PRIVATE_READ),
    ("PATCH", "/api/channels/{G}", {"description": "topic"}, "200 200 200 403 403 403 403 403 401"),
    ("PATCH", "/api/channels/{P}", {"description": "topic"}, "200 200 200 404 403 404 404 404 401"),
    ("DELETE", "/api/channels/{V}", None, "204 204 403 403 403 403 403 403 401"),
    ("DELETE", "/api/channels/{P}", None, "204 204 403 404 403 404 404 404 401"),
    # memberships
    ("POST", "/api/membership", {"userId": "{stranger}", "communityId": "{C}"}, "201 201 201 403 403 403 403 403 401"),
    ("GET", "/api/membership/community/{C}", None, MEMBERS),
    ("GET", "/api/membership/my", None, A),
    ("GET", "/api/membership/user/{target}", None, A),
    ("GET", "/api/membership/community/{C}/user/{target}", None, MEMBERS),
    ("DELETE", "/api/membership/community/{C}/user/{target}", None, "204 204 403 403 403 403 403 403 401"),
    ("DELETE", "/api/membership/leave/{C}", None, "404 409 204 204 204 204 404 404 401"),
    # channel memberships (private channels)
    ("POST", "/api/channel-membership", {"userId": "{target}", "channelId": "{P}"},
     "201 201 201 404 403 404 404 404 401"),
    ("GET", "/api/channel-membership/channel/{P}", None, PRIVATE_READ),
    ("GET", "/api/channel-membership/my", None, A),
    ("GET", "/api/channel-membership/user/{pcmember}", None, A),
    ("GET", "/api/channel-membership/channel/{P}/user/{pcmember}", None, PRIVATE_READ),
    ("DELETE", "/api/channel-membership/channel/{P}/user/{pcmember}", None, "204 204 403 404 403 404 404 404 401"),
    ("DELETE", "/api/channel-membership/leave/{P}", None, "404 204 404 404 204 404 404 404 401"),
    # roles
    ("GET", "/api/roles/my/community/{C}", None, A),
    ("GET", "/api/roles/my/channel/{P}", None, A),
    ("GET", "/api/roles/my/instance", None, A),
    ("GET", "/api/roles/user/{target}/community/{C}", None, MEMBERS),
    ("GET", "/api/roles/user/{target}/channel/{G}", None, MEMBERS),
    ("GET", "/api/roles/user/{target}/instance", None, OWNER_ONLY),
    ("GET", "/api/roles/community/{C}", None, MEMBERS),
    ("POST", "/api/roles/community/{C}", {"name": "New", "actions": ["READ_COMMUNITY"]},
     "201 201 403 403 403 403 403 403 401"),
    ("PUT", "/api/roles/community/{C}/{R}", {"actions": ["READ_COMMUNITY", "READ_CHANNEL"]},
     "200 200 403 403 403 403 403 403 401"),
    ("DELETE", "/api/roles/community/{C}/{R}", None, "204 204 403 403 403 403 403 403 401"),
    ("POST", "/api/roles/community/{C}/assign", {"userId": "{target}", "roleId": "{R}"},
     "204 204 204 403 403 403 403 403 401"),
    ("DELETE", "/api/roles/community/{C}/users/{target}/roles/{MR}", None, "204 204 204 403 403 403 403 403 401"),
    ("GET", "/api/roles/community/{C}/{R}/users", None, MEMBERS),
    ("GET", "/api/roles/instance/all", None, OWNER_ONLY),
    ("POST", "/api/roles/instance/{IA}/assign", {"userId": "{stranger}"}, "204 403 403 403 403 403 403 403 401"),
    ("DELETE", "/api/roles/instance/{IA}/users/{target}", None, "204 403 403 403 403 403 403 403 401"),
    ("GET", "/api/roles/instance/{IA}/users", None, OWNER_ONLY),
    # invites
    ("POST", "/api/invite", {}, "201 403 403 403 403 403 403 403 401"),
    ("POST", "/api/invite", {"communityIds": ["{C}"]}, "201 201 403 403 403 403 403 403 401"),
    ("GET", "/api/invite", None, OWNER_ONLY),
    ("GET", "/api/invite/public/{CI}", None, "200 200 200 200 200 200 200 200 200"),
    ("DELETE", "/api/invite/{CI}", None, "200 200 403 403 403 403 403 403 401"),
    ("DELETE", "/api/invite/{II}", None, "200 403 403 403 403 403 403 403 401"),
    ("POST", "/api/invite/{CI}/redeem", None, A),
    # voice presence: deafen (issue 20; the other voice routes are in tests/voice/test_presence_rest.py)
    ("POST", "/api/channels/{VOICE}/voice-presence/deafen", {"isDeafened": True}, "201 201 201 201 201 201 403 403 401"),
    ("POST", "/api/channels/{P}/voice-presence/deafen", {"isDeafened": True}, "201 201 404 404 201 404 404 404 401"),
    # DM calls (issue 20 item 2, decision 0048): the group's members only (the owner is no exception)
    ("POST", "/api/livekit/dm-token", {"roomId": "{DMG}"}, DM_GROUP_201),
    ("POST", "/api/livekit/dm-token", {"roomId": "{DM}"}, DM_READ.replace("200", "201")),
    ("GET", "/api/dm-groups/{DMG}/voice-presence", None, DM_GROUP_READ),
    ("GET", "/api/dm-groups/{DM}/voice-presence", None, DM_READ),
    ("POST", "/api/dm-groups/{DMG}/voice-presence/refresh", None, DM_GROUP_201),
    ("POST", "/api/dm-groups/{DM}/voice-presence/refresh", None, DM_READ.replace("200", "201")),
    ("POST", "/api/dm-groups/{DMG}/voice-presence/leave", None, DM_GROUP_201),
    ("DELETE", "/api/dm-groups/{DMG}/voice-presence/leave", None, DM_GROUP_READ),
    # message history: jump to a message and page newer (issue 20)
    ("GET", "/api/messages/channel/{G}/around/{MG}", None, MEMBERS),
    ("GET", "/api/messages/channel/{P}/around/{MP}", None, PRIVATE_ENTER),
    ("GET", "/api/messages/channel/{G}/around/{MP}", None, "404 404 404 404 404 404 403 403 401"),
    ("GET", "/api/messages/channel/{G}?direction=newer&continuationToken={MG}", None, MEMBERS),
    ("GET", "/api/messages/channel/{P}?direction=newer", None, PRIVATE_ENTER),
    # direct messages (membership is the only permission)
    ("GET", "/api/direct-messages", None, A),
    ("POST", "/api/direct-messages", {"userIds": ["{stranger}"]}, "201 201 201 201 201 201 201 201 401"),
    ("GET", "/api/direct-messages/{DMG}", None, DM_GROUP_READ),
    ("GET", "/api/direct-messages/{DM}", None, DM_READ),
    ("GET", "/api/direct-messages/{DMG}/messages", None, DM_GROUP_READ),
    ("GET", "/api/messages/group/{DMG}", None, DM_GROUP_READ),
    ("GET", "/api/messages/group/{DM}", None, DM_READ),
    ("GET", "/api/messages/group/{DMG}/around/{MD}", None, DM_GROUP_READ),
    ("GET", "/api/messages/group/{DMG}?direction=newer", None, DM_GROUP_READ),
    ("GET", "/api/messages/group/{DM}/around/{MD}", None, "404 404 404 404 404 404 404 404 401"),  # another group's
    # search (issue 20 item 6): reading what the caller may read, nothing more
    ("GET", "/api/messages/search/channel/{G}", None, MEMBERS),
    ("GET", "/api/messages/search/channel/{G}?q=seed", None, MEMBERS),
    ("GET", "/api/messages/search/channel/{P}?q=seed", None, PRIVATE_ENTER),
    ("GET", "/api/messages/search/community/{C}", None, MEMBERS),
    ("GET", "/api/messages/search/community/{C}?q=seed&limit=5", None, MEMBERS),
    ("GET", "/api/messages/search/group/{DMG}", None, DM_GROUP_READ),
    ("GET", "/api/messages/search/group/{DMG}?q=seed", None, DM_GROUP_READ),
    ("GET", "/api/messages/search/group/{DM}?q=seed", None, DM_READ),
    ("POST", "/api/direct-messages/{DMG}/members", {"userIds": ["{stranger}"]}, DM_GROUP_READ),
    ("POST", "/api/direct-messages/{DM}/members", {"userIds": ["{stranger}"]}, "404 404 404 403 403 404 404 404 401"),
    ("DELETE", "/api/direct-messages/{DMG}/members/me", None, "404 204 404 204 204 404 404 404 401"),
    ("GET", "/api/messages/{MD}", None, DM_GROUP_READ),
    ("PATCH", "/api/messages/{MD}", {"spans": [{"type": "PLAINTEXT", "text": "x"}]}, "404 403 404 200 403 404 404 404 401"),
    ("DELETE", "/api/messages/{MD}", None, "404 403 404 204 403 404 404 404 401"),
    ("POST", "/api/messages/reactions", {"messageId": "{MD}", "emoji": "x"}, "404 201 404 201 201 404 404 404 401"),
    # read receipts (issue 20): marking needs reading the conversation (a private channel's history: entering it)
    ("GET", "/api/read-receipts/unread-counts", None, A),
    ("POST", "/api/read-receipts/mark-read", {"lastReadMessageId": "{MG}", "channelId": "{G}"}, MEMBERS),
    ("POST", "/api/read-receipts/mark-read", {"lastReadMessageId": "{MP}", "channelId": "{P}"}, PRIVATE_ENTER),
    ("POST", "/api/read-receipts/mark-read", {"lastReadMessageId": "{MD}", "directMessageGroupId": "{DMG}"},
     DM_GROUP_READ),
    ("GET", "/api/read-receipts/dm-peer-reads/{DMG}", None, DM_GROUP_READ),
    ("GET", "/api/read-receipts/dm-peer-reads/{DM}", None, DM_READ),
    # threads (issue 20): a thread is read by who may read (enter) its parent's channel or group
    ("GET", "/api/threads/{MG}/replies", None, MEMBERS),
    ("GET", "/api/threads/{MP}/replies", None, PRIVATE_ENTER),
    ("GET", "/api/threads/{MD}/replies", None, DM_GROUP_READ),
    ("GET", "/api/threads/{MG}/metadata", None, MEMBERS),
    ("GET", "/api/threads/{MP}/metadata", None, PRIVATE_ENTER),
    ("GET", "/api/threads/{MD}/metadata", None, DM_GROUP_READ),
    ("POST", "/api/threads/{MG}/subscribe", None, MEMBERS_204),
    ("POST", "/api/threads/{MP}/subscribe", None, PRIVATE_ENTER_204),
    ("POST", "/api/threads/{MD}/subscribe", None, DM_GROUP_204),
    ("DELETE", "/api/threads/{MG}/subscribe", None, MEMBERS_204),
    ("DELETE", "/api/threads/{MP}/subscribe", None, PRIVATE_ENTER_204),
    # alias (mention) groups (issue 21 item 6): the ALIAS_GROUP resource is the group's community; an
    # unknown group is a 404 (decision 0061); the Moderator and Member templates only read
    ("GET", "/api/alias-groups/community/{C}", None, MEMBERS),
    ("POST", "/api/alias-groups/community/{C}", {"name": "newcrew", "memberIds": ["{target}"]},
     "201 201 403 403 403 403 403 403 401"),
    ("GET", "/api/alias-groups/{AG}", None, MEMBERS),
    ("GET", "/api/alias-groups/{C}", None, "404 404 404 404 404 404 404 404 401"),
    ("PUT", "/api/alias-groups/{AG}", {"name": "renamed"}, "200 200 403 403 403 403 403 403 401"),
    ("DELETE", "/api/alias-groups/{AG}", None, "204 204 403 403 403 403 403 403 401"),
    ("POST", "/api/alias-groups/{AG}/members", {"userId": "{target}"}, "204 204 403 403 403 403 403 403 401"),
    ("DELETE", "/api/alias-groups/{AG}/members/{member}", None, "204 204 403 403 403 403 403 403 401"),
    ("PUT", "/api/alias-groups/{AG}/members", {"memberIds": ["{target}", "{target}"]},
     "204 204 403 403 403 403 403 403 401"),
    # issue 21 item 8: an invite by code (instance invite readers), resetting the default roles (UPDATE_ROLE)
    ("GET", "/api/invite/{CI}", None, OWNER_ONLY),
    ("POST", "/api/roles/community/{C}/reset-defaults", None, "200 200 403 403 403 403 403 403 401"),
    # sessions (issue 22, decision 0067): one's own only; S is a second session of member's
    ("GET", "/api/auth/sessions", None, A),
    ("DELETE", f"/api/auth/sessions/{MEMBER_SESSION}", None, "404 404 404 200 404 404 404 404 401"),
    ("DELETE", "/api/auth/sessions", None, A),
    # web push (issue 22, decision 0068): one's own subscriptions; the debug routes are the OWNER's
    ("GET", "/api/push/vapid-public-key", None, A),
    ("POST", "/api/push/subscribe", PUSH_SUBSCRIPTION, A.replace("200", "201")),
    ("DELETE", "/api/push/unsubscribe", {"endpoint": PUSH_SUBSCRIPTION["endpoint"]}, A),
    ("GET", "/api/push/status", None, A),
    ("POST", "/api/push/test", None, A),
    ("POST", "/api/push/debug/send-test", None, OWNER_ONLY),
    ("GET", "/api/notifications/debug/subscriptions", None, OWNER_ONLY),
    # moderation (issue 21, decision 0053): the action in the community, then the role hierarchy (owner above
    # all; strictly higher priority: Community Admin 80 > Moderator 50 > Member 10); nobody acts on themself
    ("POST", "/api/moderation/ban/{C}/{target}", {"reason": "r"}, "200 200 403 403 403 403 403 403 401"),
    ("POST", "/api/moderation/ban/{C}/{mod}", None, "200 200 403 403 403 403 403 403 401"),
    ("POST", "/api/moderation/ban/{C}/{admin}", None, "409 403 403 403 403 403 403 403 401"),  # the last admin
    ("DELETE", "/api/moderation/ban/{C}/{target}", None, "404 404 403 403 403 403 403 403 401"),
    ("GET", "/api/moderation/bans/{C}", None, "200 200 200 403 403 403 403 403 401"),
    ("POST", "/api/moderation/kick/{C}/{target}", None, "200 200 200 403 403 403 403 403 401"),
    ("POST", "/api/moderation/kick/{C}/{mod}", None, "200 200 403 403 403 403 403 403 401"),
    ("POST", "/api/moderation/kick/{C}/{admin}", None, "409 403 403 403 403 403 403 403 401"),
    ("POST", "/api/moderation/timeout/{C}/{target}", {"durationSeconds": 60}, "200 200 200 403 403 403 403 403 401"),
    ("POST", "/api/moderation/timeout/{C}/{admin}", {"durationSeconds": 60}, "200 403 403 403 403 403 403 403 401"),
    ("DELETE", "/api/moderation/timeout/{C}/{target}", None, "404 404 404 403 403 403 403 403 401"),
    ("GET", "/api/moderation/timeouts/{C}", None, "200 200 200 403 403 403 403 403 401"),
    ("GET", "/api/moderation/timeout-status/{C}/{target}", None, MEMBERS),
    ("DELETE", "/api/moderation/message/{MG}", {"reason": "r"}, "200 200 200 403 403 403 403 403 401"),
    ("DELETE", "/api/moderation/message/{MP}", None, "200 200 404 404 403 404 404 404 401"),
    ("DELETE", "/api/moderation/message/{MD}", None, "404 403 404 403 403 404 404 404 401"),
    ("GET", "/api/moderation/logs/{C}", None, "200 200 403 403 403 403 403 403 401"),
    # friends and user blocks (issue 21): JWT only, each caller acts on their own rows;
    # {FR}: member's pending request to pcmember, {FA}: admin and mod's friendship
    ("GET", "/api/friends", None, A),
    ("GET", "/api/friends/requests", None, A),
    ("GET", "/api/friends/status/{target}", None, A),
    ("POST", "/api/friends/request/{stranger}", None, "201 201 201 201 201 201 201 201 401"),
    ("POST", "/api/friends/accept/{FR}", None, "403 403 403 403 201 403 403 403 401"),
    ("DELETE", "/api/friends/decline/{FR}", None, "403 403 403 403 200 403 403 403 401"),
    ("DELETE", "/api/friends/cancel/{FR}", None, "403 403 403 200 403 403 403 403 401"),
    ("DELETE", "/api/friends/{FA}", None, "403 200 200 403 403 403 403 403 401"),
    ("POST", "/api/users/block/{stranger}", None, "201 201 201 201 201 201 201 201 401"),
    ("DELETE", "/api/users/block/{target}", None, A),
    ("GET", "/api/users/blocked", None, A),
    ("GET", "/api/users/blocked/{target}", None, A),
    # storage quotas (issue 22, decision 0065): one's own usage; the rest needs an instance action
    ("GET", "/api/storage/my-usage", None, A),
    ("GET", "/api/storage/instance", None, OWNER_ONLY),
    ("GET", "/api/storage/users", None, OWNER_ONLY),
    ("GET", "/api/storage/users/{target}", None, OWNER_ONLY),
    ("PATCH", "/api/storage/users/{target}/quota", {"quotaBytes": 1024}, OWNER_ONLY),
    ("POST", "/api/storage/users/{target}/recalculate", None, OWNER_ONLY.replace("200", "201")),
    # attachments after sending (issue 22): the author only (file routes: tests/files/test_authorization.py)
    ("POST", "/api/messages/{MG}/attachments", {}, "403 403 403 201 403 403 403 403 401"),
    ("POST", "/api/messages/{MP}/attachments", {}, "403 403 404 404 201 404 404 404 401"),
    ("POST", "/api/messages/{MD}/attachments", {}, "404 403 404 201 403 404 404 404 401"),
    # pins (issue 21, decision 0055): PIN/UNPIN_MESSAGE where the message is; a DM message is no channel's (403)
    ("POST", "/api/moderation/pin/{MG}", {"reason": "r"}, "200 200 200 403 403 403 403 403 401"),
    ("POST", "/api/moderation/pin/{MP}", None, "200 200 404 404 403 404 404 404 401"),
    ("POST", "/api/moderation/pin/{MD}", None, "404 403 404 403 403 404 404 404 401"),
    ("DELETE", "/api/moderation/pin/{MG}", None, "409 409 409 403 403 403 403 403 401"),  # not pinned
    ("DELETE", "/api/moderation/pin/{MP}", None, "409 409 404 404 403 404 404 404 401"),
    ("GET", "/api/moderation/pins/{G}", None, MEMBERS),
    ("GET", "/api/moderation/pins/{P}", None, PRIVATE_ENTER),
    # channel order and mentions (issue 21, decision 0056): UPDATE_CHANNEL in the body's community
    ("POST", "/api/channels/{V}/move-up", {"communityId": "{C}"}, "200 200 200 403 403 403 403 403 401"),
    ("POST", "/api/channels/{V}/move-down", {"communityId": "{C}"}, "200 200 200 403 403 403 403 403 401"),
    ("POST", "/api/channels/{P}/move-up", {"communityId": "{C}"}, "200 200 200 403 403 403 403 403 401"),
    ("GET", "/api/channels/community/{C}/mentionable", None, MEMBERS),
    # member search (issue 21, decision 0056)
    ("GET", "/api/membership/community/{C}/search", None, MEMBERS),
    ("GET", "/api/membership/community/{C}/search?query=m&limit=5", None, MEMBERS),
    # notifications (issue 21): the caller's own; overrides only on channels they see; debug: the OWNER
    ("GET", "/api/notifications", None, A),
    ("GET", "/api/notifications/unread-count", None, A),
    ("POST", "/api/notifications/read-all", None, A),
    ("POST", "/api/notifications/{MG}/read", None, "404 404 404 404 404 404 404 404 401"),
    ("POST", "/api/notifications/{MG}/dismiss", None, "404 404 404 404 404 404 404 404 401"),
    ("DELETE", "/api/notifications/{MG}", None, "404 404 404 404 404 404 404 404 401"),
    ("GET", "/api/notifications/settings", None, A),
    ("PUT", "/api/notifications/settings", {"playSound": False}, A),
    ("GET", "/api/notifications/channels/{P}/override", None, A),
    ("PUT", "/api/notifications/channels/{G}/override", {"level": "all"}, "200 200 200 200 200 200 404 404 401"),
    ("PUT", "/api/notifications/channels/{P}/override", {"level": "all"}, "200 200 200 404 200 404 404 404 401"),
    ("DELETE", "/api/notifications/channels/{P}/override", None, "204 204 204 204 204 204 204 204 401"),
    ("POST", "/api/notifications/debug/send-test", {"type": "DIRECT_MESSAGE"}, OWNER_ONLY),
    ("DELETE", "/api/notifications/debug/clear-all", None, OWNER_ONLY),
    # running an instance from the client (issue 22, decision 0063): instance actions, only the owner here
    # (tests/rbac/test_authorization_matrix.py::test_an_instance_admin_* covers an Instance Admin)
    ("GET", "/api/users/admin/list", None, OWNER_ONLY),
    ("GET", "/api/users/admin/list?search=mem&banned=false", None, OWNER_ONLY),
    ("GET", "/api/users/admin/{target}", None, OWNER_ONLY),
    ("PATCH", "/api/users/admin/{stranger}/role", {"role": "OWNER"}, OWNER_ONLY),
    ("PATCH", "/api/users/admin/{target}/ban", {"banned": True}, OWNER_ONLY),
    ("DELETE", "/api/users/admin/{target}", None, OWNER_ONLY),
    ("GET", "/api/community/admin/list", None, OWNER_ONLY),
    ("GET", "/api/community/admin/{C}", None, OWNER_ONLY),
    ("DELETE", "/api/community/admin/{C}", None, OWNER_ONLY.replace("200", "204")),
    ("GET", "/api/instance/settings", None, OWNER_ONLY),
    ("PATCH", "/api/instance/settings", {"registrationMode": "OPEN"}, OWNER_ONLY),
    ("GET", "/api/instance/settings/public", None, "200 200 200 200 200 200 200 200 200"),
    ("GET", "/api/instance/stats", None, OWNER_ONLY),
    ("POST", "/api/roles/instance", {"name": "Greeter", "actions": ["READ_USER"]}, OWNER_ONLY.replace("200", "201")),
    ("PUT", "/api/roles/instance/{IA}", {"actions": ["READ_USER"]}, OWNER_ONLY),
    ("DELETE", "/api/roles/instance/{IA}", None, "400 403 403 403 403 403 403 403 401"),  # a default role stays
    ("POST", "/api/onboarding/setup", {"adminUsername": "late", "adminPassword": "a long password",
                                       "instanceName": "x", "setupToken": "t"}, "409 409 409 409 409 409 409 409 409"),
    ("GET", "/api/appearance-settings", None, A),
    ("PATCH", "/api/appearance-settings", {"accentColor": "teal"}, A),
]

CASES = [(method, path, body, principal, int(status))
         for method, path, body, row in MATRIX
         for principal, status in zip(PRINCIPALS, row.split(), strict=True)]


@pytest.fixture(scope="module")
def community(app):
    """One Club for the module, with a message in each channel, restored before each case."""
    from tests.conftest import _wipe
    _wipe()
    club = _with_friendships(Factory(app).club().seed_messages().seed_alias_group())
    RefreshFamily(id=MEMBER_SESSION, user_id=club.member.id, expires_at=utcnow() + timedelta(days=1)).save()
    club.freeze()
    print(f"\nauthorization matrix: {len(MATRIX)} routes x {len(PRINCIPALS)} principals = {len(CASES)} cases")
    yield club
    _wipe()


def _with_friendships(club):
    """{FR}: member asked pcmember (pending); {FA}: admin and mod are friends; member blocked target."""
    pending = friends.request(club.member, str(club.pcmember.id))
    accepted = friends.request(club.admin, str(club.mod.id))
    friends.accept(club.mod, str(accepted.id))
    friends.block(club.member, str(club.target.id))
    club.extra_ids.update(FR=str(pending.id), FA=str(accepted.id))
    return club


@pytest.fixture(autouse=True)
def clean_state():  # the Club is restored per case instead of wiped
    yield


def _fill(community, value):
    return json.loads(community.fill(json.dumps(value).replace("{", "{{").replace("}", "}}")
                                 .replace("{{C}}", "{C}").replace("{{target}}", "{target}")
                                 .replace("{{stranger}}", "{stranger}").replace("{{P}}", "{P}")
                                 .replace("{{R}}", "{R}").replace("{{MD}}", "{MD}")
                                 .replace("{{G}}", "{G}").replace("{{MG}}", "{MG}").replace("{{MP}}", "{MP}")
                                 .replace("{{DMG}}", "{DMG}").replace("{{DM}}", "{DM}"))) if value is not None else None


@pytest.mark.parametrize("method, path, body, principal, expected", CASES,
                         ids=[f"{m} {p} as {who}" for m, p, _, who, _ in CASES])
def test_route_answers_each_principal_as_the_table_says(app, community, method, path, body, principal, expected):
    community.restore()
    headers = {"Authorization": f"Bearer {community.tokens[principal]}"} if principal != "anon" else {}
    url = community.fill(path)
    response = app.test_client().open(url, method=method, json=_fill(community, body), headers=headers)
    assert response.status_code == expected, (url, response.get_json())
    if expected >= 400:
        assert response.get_json()["statusCode"] == expected
        assert dump() == community.snapshot, "a denied request changed the database"


def test_matrix_covers_every_route_of_the_issue(app):
    covered = {(m, _shape(p)) for m, p, _, _ in MATRIX}
    prefixes = ("/api/community", "/api/channels", "/api/membership", "/api/channel-membership", "/api/roles",
                "/api/invite", "/api/direct-messages", "/api/threads", "/api/read-receipts",
                "/api/messages/search", "/api/alias-groups", "/api/auth/sessions", "/api/push",
                "/api/notifications/debug/subscriptions", "/api/moderation/ban", "/api/moderation/kick",
                "/api/moderation/timeout", "/api/moderation/message", "/api/moderation/logs", "/api/friends",
                "/api/users/block", "/api/storage", "/api/moderation/pin", "/api/notifications")
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefixes) or "voice-presence" in rule.rule:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, _shape(rule.rule)) not in covered:
                missing.append(f"{method} {rule.rule}")
    assert not missing, missing


def _shape(path: str) -> str:
    """/api/x/{C}/y, /api/x/<oid:id>/y and /api/x/<an id>/y all become /api/x/*/y."""
    import re
    return re.sub(r"\{[^}]+\}|<[^>]+>|\b[0-9a-f]{24}\b", "*", path)
    return re.sub(r"\{[^}]+\}|<[^>]+>", "*", path)


# An Instance Admin (the Club's `target`) holds the user and settings actions but is no owner: it cannot make
# an owner, change, ban or delete one, and without READ_ALL_COMMUNITIES' companion DELETE_COMMUNITY cannot
# force-delete a community. (method, path, body, status)
INSTANCE_ADMIN_CASES = [
    ("PATCH", "/api/users/admin/{stranger}/role", {"role": "OWNER"}, 403),
    ("PATCH", "/api/users/admin/{target}/role", {"role": "OWNER"}, 403),
    ("PATCH", "/api/users/admin/{owner}/role", {"role": "USER"}, 403),
    ("PATCH", "/api/users/admin/{owner}/ban", {"banned": True}, 403),
    ("DELETE", "/api/users/admin/{owner}", None, 403),
    ("DELETE", "/api/community/admin/{C}", None, 403),
    ("POST", "/api/roles/instance", {"name": "Big", "actions": ["DELETE_COMMUNITY"]}, 403),
    ("DELETE", "/api/roles/instance/{IA}/users/{target}", None, 204),
    ("GET", "/api/users/admin/list", None, 200),
    ("GET", "/api/community/admin/list", None, 200),
    ("PATCH", "/api/users/admin/{stranger}/ban", {"banned": True}, 200),
    ("DELETE", "/api/users/admin/{stranger}", None, 200),
    ("PATCH", "/api/instance/settings", {"name": "Renamed"}, 200),
    ("GET", "/api/instance/stats", None, 200),
]


@pytest.mark.parametrize("method, path, body, expected", INSTANCE_ADMIN_CASES,
                         ids=[f"{m} {p}" for m, p, _, _ in INSTANCE_ADMIN_CASES])
def test_an_instance_admin_cannot_make_or_touch_an_owner(app, community, method, path, body, expected):
    community.restore()
    token = Factory(app).token(community.target)
    response = app.test_client().open(community.fill(path), method=method, json=_fill(community, body),
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == expected, (path, response.get_json())
    if expected >= 400:
        snapshot = {k: v for k, v in dump().items() if k not in ("refresh_families", "refresh_tokens")}
        assert snapshot == {k: v for k, v in community.snapshot.items()
                            if k not in ("refresh_families", "refresh_tokens")}, "a denied request changed the database"
