"""Every MongoEngine document of the app, for migrations, tests and clean-up checks."""
from __future__ import annotations

from kraken.alias_groups.models import AliasGroup, AliasGroupMember
from kraken.auth.models import RefreshFamily, RefreshToken
from kraken.channel_memberships.models import ChannelMembership
from kraken.channels.models import Channel, ChannelOrderLease
from kraken.communities.models import Community
from kraken.direct_messages.models import DirectMessageGroup, DirectMessageMembership, DirectPair
from kraken.files.models import File
from kraken.friends.models import Friendship, UserBlock
from kraken.invites.models import Invite
from kraken.memberships.models import MemberDirectory, Membership
from kraken.messages.models import Message
from kraken.migrations import Migration
from kraken.moderation.models import CommunityBan, CommunityTimeout, ModerationLog
from kraken.pins.models import PinBoard
from kraken.push.models import PushKeys, PushSubscription
from kraken.notifications.models import ChannelNotificationOverride, Notification, UserNotificationSettings
from kraken.roles.models import Role, UserRole
from kraken.threads.models import ThreadSubscriber
from kraken.users.models import InstanceMarker, User
from kraken.appearance.models import AppearanceSettings
from kraken.instance.models import InstanceSettings
from kraken.users.directory import UserGram, UserGramCount


def all_documents() -> list[type]:
    return [User, InstanceMarker, RefreshFamily, RefreshToken, Invite, Community, Channel, Membership,
            ChannelMembership, Role, UserRole, Message, File, Migration, DirectMessageGroup, DirectMessageMembership,
            DirectPair, ThreadSubscriber, AliasGroup, AliasGroupMember,
            ModerationLog, CommunityBan, CommunityTimeout,
            PushSubscription, PushKeys, Friendship, UserBlock, PinBoard, MemberDirectory, ChannelOrderLease,
            Notification, UserNotificationSettings, ChannelNotificationOverride, InstanceSettings, AppearanceSettings,
            UserGram, UserGramCount]
