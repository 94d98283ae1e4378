"""Every Socket.IO event name of the wire contract (§6.4, §6.5; later versions: kraken-later-endpoints
§11, kraken-head-features §7), and the `connect_error` messages, in one place."""
from __future__ import annotations

# client -> server
JOIN_ALL = "joinAll"
SUBSCRIBE_ALL = "subscribeAll"
JOIN_ROOM = "joinRoom"
LEAVE_ROOM = "leaveRoom"
PRESENCE_ONLINE = "presenceOnline"
SEND_MESSAGE = "sendMessage"
SEND_DM = "sendDirectMessage"
ADD_REACTION = "addReaction"
REMOVE_REACTION = "removeReaction"
TYPING_START = "typingStart"
TYPING_STOP = "typingStop"
VOICE_CHANNEL_JOIN = "voice_channel_join"
VOICE_CHANNEL_LEAVE = "voice_channel_leave"
VOICE_STATE_UPDATE = "voice_state_update"
VOICE_PRESENCE_REFRESH = "voice_presence_refresh"
MARK_AS_READ = "markAsRead"
SEND_THREAD_REPLY = "sendThreadReply"

# server -> client
NEW_MESSAGE = "newMessage"
UPDATE_MESSAGE = "updateMessage"
DELETE_MESSAGE = "deleteMessage"
NEW_DM = "newDirectMessage"
REACTION_ADDED = "reactionAdded"
REACTION_REMOVED = "reactionRemoved"
USER_ONLINE = "userOnline"
USER_OFFLINE = "userOffline"
USER_TYPING = "userTyping"
VOICE_CHANNEL_USER_JOINED = "voiceChannelUserJoined"
VOICE_CHANNEL_USER_LEFT = "voiceChannelUserLeft"
VOICE_CHANNEL_USER_UPDATED = "voiceChannelUserUpdated"
DM_VOICE_CALL_STARTED = "dmVoiceCallStarted"
DM_VOICE_USER_JOINED = "dmVoiceUserJoined"
DM_VOICE_USER_LEFT = "dmVoiceUserLeft"
CHANNEL_DELETED = "channelDeleted"
COMMUNITY_DELETED = "communityDeleted"
EXCEPTION = "exception"
READ_RECEIPT_UPDATED = "readReceiptUpdated"
NEW_THREAD_REPLY = "newThreadReply"
THREAD_REPLY_COUNT_UPDATED = "threadReplyCountUpdated"
# lifecycle events (kraken-head-features §7)
MEMBER_ADDED_TO_COMMUNITY = "memberAddedToCommunity"
CHANNEL_CREATED = "channelCreated"
CHANNEL_UPDATED = "channelUpdated"

# `connect_error` messages of a refused connection (kraken-later-endpoints §11): the client refreshes
# its token and reconnects on AUTH_FAILED
CONNECT_AUTH_FAILED = "AUTH_FAILED"
CONNECT_RATE_LIMITED = "RATE_LIMITED"
