"""The one table behind `/api/openapi.json`: endpoint name -> request and response schemas.

`kraken.openapi` walks the app's URL map and looks every `/api` route up here by its
Flask endpoint name (`"<blueprint>.<view>"`). A route missing from this table is
missing from the document, and `tests/ops/test_openapi.py` fails until it is added.
The schemas are the pydantic models the routes already validate and serialise with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from kraken.alias_groups.schemas import (AliasGroupIn, AliasGroupOut, AliasGroupRenameIn, AliasGroupSummaryOut,
                                        AliasMemberIn, AliasMembersIn)
from kraken.auth.schemas import LoginIn, MessageOut as InfoOut, RevokedOut, SessionOut, TokenOut
from kraken.channel_memberships.schemas import ChannelMembershipIn, ChannelMembershipOut
from kraken.channels.schemas import ChannelIn, ChannelOut, ChannelPatch, MoveIn
from kraken.communities.schemas import CommunityIn, CommunityOut, CommunityPatch
from kraken.direct_messages.schemas import GroupCreateIn, GroupOut, MembersAddIn
from kraken.files.schemas import FileMetadataOut, FileOut, SignedUrlOut, UploadFields
from kraken.friends.schemas import (BlockedOut, FriendOut, FriendRequestsOut, FriendshipOut, FriendStatusOut,
                                    PublicUserOut, SuccessOut as DoneFlagOut)
from kraken.invites.schemas import CommunityInviteIn, InviteIn, InviteOut, PublicInviteOut, RedeemOut
from kraken.livekit.schemas import (ConnectionInfoOut, LiveKitHealthOut, MuteIn, MuteOut, TokenIn,
                                    TokenOut as VoiceTokenOut, WebhookOut)
from kraken.memberships.schemas import MembershipIn, MembershipOut, MemberSearchQuery
from kraken.messages.schemas import (AroundPageOut, AroundQuery, AttachmentIn, HistoryQuery, MessageEditIn, MessageIn,
                                     MessagePageOut, MessageOut, ReactionIn)
from kraken.moderation.schemas import (BanIn, CommunityBanOut, CommunityTimeoutOut, LogsQuery, ModerationLogsOut,
                                       ReasonIn, SuccessOut, TimeoutIn, TimeoutStatusOut)
from kraken.notifications.schemas import (ClearAllOut, CountOut, ListQuery, NotificationListOut, NotificationRowOut,
                                          OverrideIn, OverrideOut, SendTestIn, SendTestOut, SettingsIn, SettingsOut)
from kraken.pins.schemas import PinDoneOut, PinIn, PinnedMessageOut
from kraken.push.schemas import (DebugSubscriptionsOut, DoneOut, PushOutcomeOut, PushStatusOut, SubscribeIn,
                                 UnsubscribeIn, VapidKeyOut)
from kraken.onboarding.schemas import OnboardingStatusOut, SetupIn, SetupOut
from kraken.admin.schemas import (AdminCommunityOut, AdminCommunityPageOut, AdminCommunityQuery, AdminUserOut,
                                  AdminUserPageOut, AdminUserQuery, BanIn as AccountBanIn, RoleChangeIn,
                                  SuccessOut as AdminDoneOut)
from kraken.appearance.schemas import AppearanceOut, AppearancePatch
from kraken.instance.schemas import (PublicSettingsOut, SettingsOut as InstanceSettingsOut, SettingsPatch,
                                     StatsOut)
from kraken.read_state.schemas import MarkReadIn, PeerReadOut, ReadReceiptOut, UnreadCountOut
from kraken.roles.schemas import (AssignIn, CommunityRolesOut, InstanceAssignIn, RoleHolderOut, RoleIn, RoleOut,
                                  RolePatch, UserRolesOut)
from kraken.search.schemas import CommunityHitOut, SearchQuery
from kraken.storage_quota.schemas import (InstanceStorageOut, QuotaIn, UserStorageListOut, UserStorageStatsOut,
                                          UsersQuery)
from kraken.threads.schemas import RepliesQuery, ThreadMetadataOut, ThreadRepliesOut
from kraken.users.schemas import (PasswordChangeIn, PreferencesIn, ProfileOut, ProfileUpdateIn, RegisterIn,
                                  UserListQuery, UserOut, UserPageOut, UserSearchQuery)
from kraken.voice.schemas import (DeafenIn, DmVoiceActionOut, DmVoicePresenceOut, MyVoiceChannelsOut, VoiceActionOut,
                                  VoicePresenceOut, VoiceStateIn, VoiceStateOut)


# Response bodies of routes that have no schemas module of their own --------------------------

class ErrorOut(BaseModel):
    """The one error envelope (docs/decisions/0003-one-error-envelope.md), built only by kraken.errors."""

    statusCode: int
    error: str
    message: str | list[str]
    code: str


class HealthPart(BaseModel):
    status: str
    message: str | None = None


class HealthOut(BaseModel):
    """`GET /api/health`: `error` lists the failing parts (503 only)."""

    status: Literal["ok", "error"]
    info: dict[str, HealthPart]
    error: dict[str, HealthPart] | None = None


class LiveOut(BaseModel):
    status: Literal["ok"]


class UploadsFeature(BaseModel):
    enabled: bool
    maxBytes: int


class FeaturesOut(BaseModel):
    """What this instance allows, for clients to adapt their UI
    (docs/decisions/0022-configuration-feature-flags-and-secrets.md)."""

    registration: Literal["invite", "open", "closed"]
    communityCreation: Literal["everyone", "admins"]
    voice: bool
    uploads: UploadsFeature


class PresenceOut(BaseModel):
    userId: str
    isOnline: bool


class PresencesOut(BaseModel):
    """Online state by user id."""

    presence: dict[str, bool]


class OpenApiOut(BaseModel):
    """This document (an OpenAPI 3.1 object)."""

    openapi: str
    info: dict
    paths: dict


# Bodies that are not a pydantic model -----------------------------------------------------------

@dataclass(frozen=True)
class Many:
    """A JSON array of `model`."""

    model: type[BaseModel]


@dataclass(frozen=True)
class Raw:
    """A non-JSON body: `media_type` with a plain JSON-schema `schema`."""

    media_type: str
    schema: dict


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body: `fields` (a model of the text fields) plus the file parts."""

    fields: type[BaseModel]
    files: tuple[str, ...] = ("file",)


EMPTY = None  # no body (204, 304)
HTML = Raw("text/html", {"type": "string"})
BYTES = Raw("*/*", {"type": "string", "format": "binary"})
WEBHOOK_EVENT = Raw("application/webhook+json", {"type": "object", "description": "A LiveKit WebhookEvent"})
# `GET /api/invite/:code`: the invite as JSON, or (unknown code) an empty text/plain body, as the reference's
# NestJS answers a null (kraken-later-endpoints §4)
INVITE_OR_NOTHING = Raw("*/*", {"oneOf": [{"$ref": "#/components/schemas/InviteOut"},
                                          {"type": "string", "maxLength": 0}]})
Body = type[BaseModel] | Many | Raw | None
# GET /api/notifications/channels/:id/override: the override, or an empty 200 body (the client expects it)
OVERRIDE_OR_EMPTY = Raw("*/*", {"description": "An override (id, userId, channelId, level, createdAt, "
                                                             "updatedAt), or an empty body when the caller has none"})


@dataclass(frozen=True)
class Op:
    """One operation: its success responses by status, what it reads, and who may call it.

    auth: "bearer" (an access token), "public" (`security: []`), "cookie" (the refresh-token
    cookie), "optional" (works without credentials, uses either when sent) or "webhook"
    (LiveKit's signature over the raw body in `Authorization`).
    """

    responses: dict[int, Body]
    body: type[BaseModel] | Multipart | Raw | None = None
    query: type[BaseModel] | None = None
    auth: Literal["bearer", "public", "cookie", "optional", "webhook"] = "bearer"
    summary: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # request header -> description


def ok(model: Body) -> dict[int, Body]:
    return {200: model}


def created(model: Body) -> dict[int, Body]:
    return {201: model}


NO_CONTENT = {204: EMPTY}

OPERATIONS: dict[str, Op] = {
    # health, instance, this document
    "health.hello": Op(ok(HTML), auth="public", summary="Liveness greeting (`Hello World!`)"),
    "health.health": Op({200: HealthOut, 503: HealthOut}, auth="public",
                        summary="Database, Redis and LiveKit status; 503 when a dependency is down"),
    "health.live": Op(ok(LiveOut), auth="public", summary="200 while the process runs"),
    "instance.get_features": Op(ok(FeaturesOut), auth="public", summary="What this instance allows"),
    "onboarding.get_status": Op(ok(OnboardingStatusOut), auth="public",
                                summary="Whether the instance still needs its first account"),
    "openapi.get_openapi": Op(ok(OpenApiOut), auth="public", summary="This OpenAPI 3.1 document"),
    "openapi.get_docs": Op(ok(HTML), auth="public", summary="Human-readable API documentation"),
    # auth
    "auth.login": Op(ok(TokenOut), body=LoginIn, auth="public",
                     summary="Log in; sets the refresh_token cookie"),
    "auth.refresh": Op(ok(TokenOut), auth="cookie", summary="Rotate the refresh cookie, get a new access token"),
    "auth.logout": Op(created(InfoOut), auth="optional", summary="Revoke the session and clear the cookie"),
    # users
    "users.register_user": Op(created(UserOut), body=RegisterIn, auth="public",
                              summary="Register (with an invite code unless registration is open)"),
    "users.get_profile": Op(ok(ProfileOut)),
    "users.update_profile": Op(ok(ProfileOut), body=ProfileUpdateIn),
    "users.change_password": Op(ok(InfoOut), body=PasswordChangeIn,
                                summary="Change the password; other sessions are signed out"),
    "users.get_preferences": Op(ok(PreferencesIn)),
    "users.put_preferences": Op(ok(PreferencesIn), body=PreferencesIn),
    "users.get_user_by_username": Op(ok(UserOut)),
    "users.search_users": Op(ok(Many(UserOut)), query=UserSearchQuery),
    "users.get_user": Op(ok(UserOut)),
    "users.list_users": Op(ok(UserPageOut), query=UserListQuery),
    "users.disable_user": Op(ok(UserOut), summary="Disable a user (instance owner only)"),
    "users.enable_user": Op(ok(UserOut), summary="Re-enable a user (instance owner only)"),
    # communities and their invites
    "communities.create_community": Op(created(CommunityOut), body=CommunityIn),
    "communities.list_communities": Op(ok(Many(CommunityOut)), summary="Every community (READ_ALL_COMMUNITIES)"),
    "communities.my_communities": Op(ok(Many(CommunityOut))),
    "communities.get_community": Op(ok(CommunityOut)),
    "communities.update_community": Op(ok(CommunityOut), body=CommunityPatch),
    "communities.delete_community": Op(NO_CONTENT),
    "communities.list_community_invites": Op(ok(Many(InviteOut))),
    "communities.create_community_invite": Op(created(InviteOut), body=CommunityInviteIn),
    # channels
    "channels.create_channel": Op(created(ChannelOut), body=ChannelIn),
    "channels.list_channels": Op(ok(Many(ChannelOut))),
    "channels.get_channel": Op(ok(ChannelOut)),
    "channels.update_channel": Op(ok(ChannelOut), body=ChannelPatch),
    "channels.delete_channel": Op(NO_CONTENT),
    # memberships
    "memberships.create_membership": Op(created(MembershipOut), body=MembershipIn),
    "memberships.list_members": Op(ok(Many(MembershipOut))),
    "memberships.my_memberships": Op(ok(Many(MembershipOut))),
    "memberships.user_memberships": Op(ok(Many(MembershipOut))),
    "memberships.get_membership": Op(ok(MembershipOut)),
    "memberships.remove_member": Op(NO_CONTENT),
    "memberships.leave_community": Op(NO_CONTENT),
    # channel memberships (private channels)
    "channel_memberships.create_channel_membership": Op(created(ChannelMembershipOut), body=ChannelMembershipIn),
    "channel_memberships.list_channel_members": Op(ok(Many(ChannelMembershipOut))),
    "channel_memberships.my_channel_memberships": Op(ok(Many(ChannelMembershipOut))),
    "channel_memberships.user_channel_memberships": Op(ok(Many(ChannelMembershipOut))),
    "channel_memberships.get_channel_membership": Op(ok(ChannelMembershipOut)),
    "channel_memberships.remove_channel_member": Op(NO_CONTENT),
    "channel_memberships.leave_channel": Op(NO_CONTENT),
    # roles
    "roles.my_community_roles": Op(ok(UserRolesOut)),
    "roles.my_channel_roles": Op(ok(UserRolesOut)),
    "roles.my_instance_roles": Op(ok(UserRolesOut)),
    "roles.user_community_roles": Op(ok(UserRolesOut)),
    "roles.user_channel_roles": Op(ok(UserRolesOut)),
    "roles.user_instance_roles": Op(ok(UserRolesOut)),
    "roles.list_community_roles": Op(ok(CommunityRolesOut)),
    "roles.create_role": Op(created(RoleOut), body=RoleIn),
    "roles.update_role": Op(ok(RoleOut), body=RolePatch),
    "roles.delete_role": Op(NO_CONTENT),
    "roles.assign_role": Op(NO_CONTENT, body=AssignIn),
    "roles.unassign_role": Op(NO_CONTENT),
    "roles.role_users": Op(ok(Many(RoleHolderOut))),
    "roles.list_instance_roles": Op(ok(Many(RoleOut))),
    "roles.assign_instance_role": Op(NO_CONTENT, body=InstanceAssignIn, summary="UPDATE_USER; only roles whose actions you hold"),
    "roles.unassign_instance_role": Op(NO_CONTENT, summary="UPDATE_USER; only roles whose actions you hold"),
    "roles.instance_role_users": Op(ok(Many(RoleHolderOut))),
    # invites
    "invites.create_invite": Op(created(InviteOut), body=InviteIn,
                                summary="An instance invite, or a community invite for one communityId"),
    "invites.list_invites": Op(ok(Many(InviteOut)), summary="Instance invites (READ_INSTANCE_INVITE)"),
    "invites.get_public_invite": Op(ok(PublicInviteOut), auth="public",
                                    summary="Whether a code works and where it leads"),
    "invites.delete_invite": Op(ok(InviteOut), summary="Disable an invite"),
    "invites.redeem_invite": Op(ok(RedeemOut), summary="An existing user joins the invite's communities"),
    # messages
    "messages.create_message": Op(created(MessageOut), body=MessageIn),
    "messages.channel_history": Op(ok(MessagePageOut), query=HistoryQuery,
                                   summary="Newest first; pass continuationToken for the next page "
                                           "(and direction=newer to page towards the present)"),
    "messages.channel_around": Op(ok(AroundPageOut), query=AroundQuery,
                                  summary="Jump to a message: the messages around it, newest first"),
    "messages.group_history": Op(ok(MessagePageOut), query=HistoryQuery,
                                 summary="A direct-message group's history, newest first (its members only)"),
    "messages.group_around": Op(ok(AroundPageOut), query=AroundQuery,
                                summary="Jump to a direct message: the messages around it, newest first"),
    "messages.add_reaction": Op(created(MessageOut), body=ReactionIn),
    "messages.remove_reaction": Op(ok(MessageOut), body=ReactionIn),
    "messages.get_message": Op(ok(MessageOut)),
    # search (docs/decisions/0049-search.md): every word, newest first, what the caller may read
    "search.search_channel": Op(ok(Many(MessageOut)), query=SearchQuery,
                                summary="A channel's messages (thread replies too) holding every word of q"),
    "search.search_community": Op(ok(Many(CommunityHitOut)), query=SearchQuery,
                                  summary="Messages of the community's channels the caller may read holding "
                                          "every word of q, each with channelName"),
    "search.search_group": Op(ok(Many(MessageOut)), query=SearchQuery,
                              summary="A direct-message group's messages holding every word of q (its members only)"),
    "messages.edit_message": Op(ok(MessageOut), body=MessageEditIn),
    "messages.delete_message": Op(NO_CONTENT),
    # read receipts (the client marks over the socket: markAsRead)
    "read_state.mark_read": Op(ok(ReadReceiptOut), body=MarkReadIn,
                               summary="Move the caller's read watermark forward (never back)"),
    "read_state.unread_counts": Op(ok(Many(UnreadCountOut)),
                                   summary="Unread and mention counts of every conversation the caller may read"),
    "read_state.dm_peer_reads": Op(ok(Many(PeerReadOut)), summary="When the group's other members last read it"),
    # threads (replies are sent over the socket: sendThreadReply)
    "threads.thread_replies": Op(ok(ThreadRepliesOut), query=RepliesQuery,
                                 summary="A thread's replies, oldest first, after the continuation token"),
    "threads.thread_metadata": Op(ok(ThreadMetadataOut)),
    "threads.subscribe": Op(NO_CONTENT, summary="Follow a thread (idempotent)"),
    "threads.unsubscribe": Op(NO_CONTENT, summary="Stop following a thread (idempotent)"),
    # direct messages
    "direct_messages.list_groups": Op(ok(Many(GroupOut)), summary="The caller's conversations, most recent first"),
    "direct_messages.create_group": Op(created(GroupOut), body=GroupCreateIn,
                                       summary="A 1:1 or group conversation; an existing 1:1 one is returned"),
    "direct_messages.get_group": Op(ok(GroupOut)),
    "direct_messages.group_messages": Op(ok(MessagePageOut), query=HistoryQuery),
    "direct_messages.add_members": Op(ok(GroupOut), body=MembersAddIn,
                                      summary="Add members to a group conversation (403 for a 1:1 one)"),
    "direct_messages.leave_group": Op(NO_CONTENT, summary="Leave the conversation"),
    # presence
    "presence.get_user_presence": Op(ok(PresenceOut)),
    "presence.get_users_presence": Op(ok(PresencesOut), summary="`ids`: up to 100 comma-separated user ids"),
    "presence.get_online_users": Op(ok(PresencesOut), summary="Every online user of the instance, each `true`"),
    # files
    "files.upload_file": Op(created(FileOut), body=Multipart(UploadFields)),
    "files.delete_file": Op(ok(FileOut)),
    "files.get_file": Op({200: BYTES, 206: BYTES, 304: EMPTY},
                         summary="The stored bytes, with single byte ranges",
                         headers={"Range": "bytes=START-END (one range)", "If-Range": "an ETag",
                                  "If-None-Match": "ETags; 304 when one matches"}),
    "files.get_file_metadata": Op(ok(FileMetadataOut)),
    # voice presence
    "voice.get_voice_presence": Op(ok(VoicePresenceOut)),
    "voice.join_voice_channel": Op(created(VoiceActionOut)),
    "voice.leave_voice_channel": Op(ok(VoiceActionOut)),
    "voice.leave_voice_channel_by_post": Op(created(VoiceActionOut), summary="Leave (the later versions' POST)"),
    "voice.update_voice_state": Op(ok(VoiceStateOut), body=VoiceStateIn),
    "voice.deafen": Op(created(VoiceActionOut), body=DeafenIn,
                       summary="Deafen or undeafen in a voice channel (a no-op when not present)"),
    "voice.refresh_voice_presence": Op(created(VoiceActionOut)),
    "voice.my_voice_channels": Op(ok(MyVoiceChannelsOut)),
    # DM calls (docs/decisions/0048-dm-calls.md): the group's members only
    "voice.get_dm_voice_presence": Op(ok(DmVoicePresenceOut), summary="Who is in a direct-message group's call"),
    "voice.refresh_dm_voice_presence": Op(created(DmVoiceActionOut),
                                          summary="Call heartbeat: extend the caller's presence, or register it again"),
    "voice.leave_dm_voice_call": Op(ok(DmVoiceActionOut), summary="Leave a direct-message group's call"),
    "voice.leave_dm_voice_call_by_post": Op(created(DmVoiceActionOut),
                                            summary="Leave a direct-message group's call (POST spelling)"),
    # LiveKit
    "livekit.create_token": Op(created(VoiceTokenOut), body=TokenIn,
                               summary="A LiveKit token for a readable voice channel (503 when voice is off)"),
    "livekit.create_dm_token": Op(created(VoiceTokenOut), body=TokenIn,
                                  summary="A LiveKit token for a direct-message group's call (its members only)"),
    "livekit.connection_info": Op(ok(ConnectionInfoOut)),
    "livekit.livekit_health": Op(ok(LiveKitHealthOut)),
    "livekit.receive_webhook": Op(ok(WebhookOut), body=WEBHOOK_EVENT, auth="webhook",
                                  summary="LiveKit's webhook, signed over the raw body"),
    "livekit.mute_participant": Op(created(MuteOut), body=MuteIn, summary="Mute a participant (MANAGE_VOICE)"),
    # alias (mention) groups (kraken-head-features §6)
    "alias_groups.list_groups": Op(ok(Many(AliasGroupSummaryOut)), summary="A community's alias groups by name"),
    "alias_groups.create_group": Op(created(AliasGroupOut), body=AliasGroupIn,
                                    summary="An alias group with its first members (community members only)"),
    "alias_groups.get_group": Op(ok(AliasGroupOut)),
    "alias_groups.rename_group": Op(ok(AliasGroupOut), body=AliasGroupRenameIn),
    "alias_groups.delete_group": Op(NO_CONTENT),
    "alias_groups.add_member": Op(NO_CONTENT, body=AliasMemberIn),
    "alias_groups.remove_member": Op(NO_CONTENT),
    "alias_groups.replace_members": Op(NO_CONTENT, body=AliasMembersIn,
                                       summary="Replace the whole member list (`[]` empties it)"),
    # roles and invites of the later versions (kraken-later-endpoints §3.1, §4)
    "roles.reset_default_roles": Op(ok(CommunityRolesOut),
                                    summary="Re-create missing default roles and reset their actions to the templates"),
    "invites.get_invite": Op(ok(INVITE_OR_NOTHING), summary="An invite by its code, in any state; an empty 200 "
                             "when unknown (READ_INSTANCE_INVITE)"),
    # sessions (docs/decisions/0067-sessions.md): a session is a refresh-token family
    "auth.list_sessions": Op(ok(Many(SessionOut)), summary="The caller's live sessions, most recently used first"),
    "auth.revoke_session": Op(ok(InfoOut), summary="End one of the caller's sessions (refresh, tokens, sockets)"),
    "auth.revoke_other_sessions": Op(ok(RevokedOut),
                                     summary="End every session of the caller but the current one"),
    # web push (docs/decisions/0068-web-push.md)
    "push.get_vapid_public_key": Op(ok(VapidKeyOut), summary="The VAPID public key browsers subscribe with"),
    "push.subscribe": Op(created(DoneOut), body=SubscribeIn,
                         summary="Store this browser's push subscription (upsert by endpoint, moved to the caller)"),
    "push.unsubscribe": Op(ok(DoneOut), body=UnsubscribeIn, summary="Forget a push subscription (idempotent)"),
    "push.get_status": Op(ok(PushStatusOut)),
    "push.send_test": Op(ok(PushOutcomeOut), summary="Push a test notification to the caller's browsers"),
    "push.send_debug_test": Op(ok(PushOutcomeOut), summary="The owner's debug test push (OWNER only)"),
    "push.list_debug_subscriptions": Op(ok(DebugSubscriptionsOut),
                                        summary="The owner's own push subscriptions (OWNER only)"),
    # moderation (docs/decisions/0053-moderation.md)
    "moderation.ban_user": Op(ok(SuccessOut), body=BanIn,
                              summary="Ban a member (membership, channel memberships and roles go; no rejoin)"),
    "moderation.unban_user": Op(ok(SuccessOut), body=ReasonIn, summary="Lift a ban (404 when none holds)"),
    "moderation.list_bans": Op(ok(Many(CommunityBanOut)), summary="The bans that hold, newest first"),
    "moderation.kick_user": Op(ok(SuccessOut), body=ReasonIn, summary="Remove a member (they may rejoin)"),
    "moderation.timeout_user": Op(ok(SuccessOut), body=TimeoutIn,
                                  summary="No sending, editing or reacting in the community for durationSeconds"),
    "moderation.remove_timeout": Op(ok(SuccessOut), body=ReasonIn, summary="End a running timeout"),
    "moderation.list_timeouts": Op(ok(Many(CommunityTimeoutOut)), summary="The timeouts running now"),
    "moderation.timeout_status": Op(ok(TimeoutStatusOut)),
    "moderation.delete_message": Op(ok(SuccessOut), body=ReasonIn,
                                    summary="Delete a channel message as a moderator (DELETE_ANY_MESSAGE), logged"),
    "moderation.moderation_logs": Op(ok(ModerationLogsOut), query=LogsQuery,
                                     summary="The community's moderation log, newest first"),
    # friends and user blocks (docs/decisions/0058-friends-and-blocks.md): the caller's own rows only
    "friends.list_friends": Op(ok(Many(FriendOut)), summary="The caller's accepted friendships, the other party flattened"),
    "friends.list_requests": Op(ok(FriendRequestsOut), summary="Pending requests the caller sent and received"),
    "friends.friendship_status": Op(ok(FriendStatusOut)),
    "friends.send_request": Op(created(FriendshipOut),
                               summary="Ask a user (accepts their pending request instead; 403 across a block)"),
    "friends.accept_request": Op(created(FriendshipOut), summary="Accept a request addressed to the caller"),
    "friends.decline_request": Op(ok(DoneFlagOut), summary="Decline a pending request addressed to the caller"),
    "friends.cancel_request": Op(ok(DoneFlagOut), summary="Withdraw the caller's pending request"),
    "friends.remove_friend": Op(ok(DoneFlagOut), summary="End an accepted friendship (either party)"),
    "user_blocks.block_user": Op(created(DoneFlagOut), summary="Block a user (idempotent)"),
    "user_blocks.unblock_user": Op(ok(DoneFlagOut), summary="Unblock a user (idempotent)"),
    "user_blocks.list_blocked": Op(ok(Many(PublicUserOut)), summary="The users the caller blocked"),
    "user_blocks.block_status": Op(ok(BlockedOut), summary="Whether the caller blocked this user"),
    # file extras and storage quotas (issue 22; decisions 0065, 0066)
    "files.get_file_thumbnail": Op({200: Raw("image/jpeg", {"type": "string", "format": "binary"}), 304: EMPTY},
                                   summary="An image's JPEG thumbnail (at most 480 × 480), made once and kept; "
                                           "404 for other files. Like the file, also opens with a signed URL's "
                                           "`sig`, `exp` and `uid`",
                                   headers={"If-None-Match": "ETags; 304 when one matches"}),
    "files.get_signed_url": Op(ok(SignedUrlOut),
                               summary="A URL opening this file without a token for an hour (`?sig=&exp=&uid=`)"),
    "messages.add_attachment": Op(created(MessageOut), body=AttachmentIn,
                                  summary="The author adds an uploaded file after sending (or counts one "
                                          "pending file down); broadcasts updateMessage"),
    "storage.get_my_usage": Op(ok(UserStorageStatsOut), summary="The caller's stored bytes, quota and files"),
    "storage.get_instance_usage": Op(ok(InstanceStorageOut), summary="The instance's storage (READ_INSTANCE_STATS)"),
    "storage.list_user_usage": Op(ok(UserStorageListOut), query=UsersQuery,
                                  summary="Users by percent of quota used (MANAGE_USER_STORAGE)"),
    "storage.get_user_usage": Op(ok(UserStorageStatsOut), summary="A user's storage (MANAGE_USER_STORAGE)"),
    "storage.set_user_quota": Op(ok(UserStorageStatsOut), body=QuotaIn,
                                 summary="Set a user's quota (MANAGE_USER_STORAGE)"),
    "storage.recalculate_user_usage": Op(created(UserStorageStatsOut),
                                         summary="Rebuild a user's usage from their stored files (MANAGE_USER_STORAGE)"),
    # pins (docs/decisions/0055-pins.md)
    "pins.pin_message": Op(ok(PinDoneOut), body=PinIn,
                           summary="Pin a channel message (PIN_MESSAGE; 409 if pinned, 400 at the channel's cap)"),
    "pins.unpin_message": Op(ok(PinDoneOut), body=PinIn, summary="Unpin a channel message (409 if not pinned)"),
    "pins.list_pins": Op(ok(Many(PinnedMessageOut)), summary="A channel's pinned messages, oldest pin first"),
    # channel order and mentions (docs/decisions/0056-channel-order-and-member-search.md)
    "channels.move_channel_up": Op(ok(Many(ChannelOut)), body=MoveIn,
                                   summary="Swap with the previous channel of its type; the community's list"),
    "channels.move_channel_down": Op(ok(Many(ChannelOut)), body=MoveIn,
                                     summary="Swap with the next channel of its type; the community's list"),
    "channels.mentionable_channels": Op(ok(Many(ChannelOut)),
                                        summary="The channels the caller may enter, by name"),
    # member search (docs/decisions/0056-channel-order-and-member-search.md)
    "memberships.search_members": Op(ok(Many(MembershipOut)), query=MemberSearchQuery,
                                     summary="Members whose username or display name contains `query`, by username"),
    # notifications (HF §3.2; docs/decisions/0059-notifications.md): the caller's own
    "notifications.list_notifications": Op(ok(NotificationListOut), query=ListQuery,
                                           summary="The caller's notifications, newest first (unreadOnly: true or 1)"),
    "notifications.unread_count": Op(ok(CountOut), summary="The caller's unread notifications (exact)"),
    "notifications.mark_read": Op(ok(NotificationRowOut), summary="Mark one read; the caller's devices are told"),
    "notifications.read_all": Op(ok(CountOut), summary="Mark every unread one read; count = rows changed"),
    "notifications.dismiss": Op(ok(NotificationRowOut), summary="Dismiss one (read unchanged)"),
    "notifications.delete_notification": Op(NO_CONTENT, summary="Delete one"),
    "notifications.get_settings": Op(ok(SettingsOut), summary="The caller's settings (created with defaults)"),
    "notifications.update_settings": Op(ok(SettingsOut), body=SettingsIn, summary="Change some settings"),
    "notifications.get_override": Op(ok(OVERRIDE_OR_EMPTY), summary="The caller's level for a channel; an empty body when none"),
    "notifications.set_override": Op(ok(OverrideOut), body=OverrideIn,
                                     summary="Set the caller's level for a channel they see (404 otherwise)"),
    "notifications.delete_override": Op(NO_CONTENT, summary="Remove the caller's level for a channel (idempotent)"),
    "notifications.send_test": Op(ok(SendTestOut), body=SendTestIn, summary="OWNER only: a test notification to oneself"),
    "notifications.clear_all": Op(ok(ClearAllOut), summary="OWNER only: delete one's own notification data"),
    # issue 22: running an instance from the client (docs/decisions/0063-running-an-instance-from-the-client.md)
    "onboarding.setup": Op(ok(SetupOut), body=SetupIn, auth="public",
                           summary="First-run setup: the owner, the instance settings, a default community (once)"),
    "instance.get_public_settings": Op(ok(PublicSettingsOut), auth="public", summary="Name and registration mode"),
    "instance.get_settings": Op(ok(InstanceSettingsOut), summary="Instance settings (READ_INSTANCE_SETTINGS)"),
    "instance.update_settings": Op(ok(InstanceSettingsOut), body=SettingsPatch,
                                   summary="Change instance settings (UPDATE_INSTANCE_SETTINGS)"),
    "instance.get_stats": Op(ok(StatsOut), summary="Instance statistics from counters (READ_INSTANCE_STATS)"),
    "admin.list_users": Op(ok(AdminUserPageOut), query=AdminUserQuery, summary="Users, newest first (READ_USER)"),
    "admin.get_user_admin": Op(ok(AdminUserOut), summary="One user as the admin pages show it (READ_USER)"),
    "admin.change_role": Op(ok(AdminUserOut), body=RoleChangeIn,
                            summary="OWNER or USER (UPDATE_USER; only an owner grants OWNER)"),
    "admin.ban_user": Op(ok(AdminUserOut), body=AccountBanIn,
                         summary="Ban or unban (BAN_USER); ends sessions and sockets"),
    "admin.delete_user": Op(ok(AdminDoneOut), summary="Delete a user; their messages stay (DELETE_USER)"),
    "admin.list_communities": Op(ok(AdminCommunityPageOut), query=AdminCommunityQuery,
                                 summary="Every community with counts (READ_ALL_COMMUNITIES)"),
    "admin.get_community_admin": Op(ok(AdminCommunityOut), summary="One community with counts (READ_ALL_COMMUNITIES)"),
    "admin.delete_community_admin": Op(NO_CONTENT, summary="Force-delete a community (DELETE_COMMUNITY on the instance)"),
    "roles.create_instance_role": Op(created(RoleOut), body=RoleIn, summary="Instance actions only, none you lack"),
    "roles.update_instance_role": Op(ok(RoleOut), body=RolePatch),
    "roles.delete_instance_role": Op(NO_CONTENT, summary="Not a default role, not an assigned one"),
    "appearance.get_appearance": Op(ok(AppearanceOut), summary="The caller's appearance settings"),
    "appearance.update_appearance": Op(ok(AppearanceOut), body=AppearancePatch),
}
