"""Threads: replies to a message (kraken-head-features §1; docs/decisions/0044-threads.md).

A reply is a Message naming its parent (`parent_message_id`) in the parent's channel or group; the
data layer numbers and buckets it in the thread's own conversation (the parent's id), so replies stay
out of their channel's history. Replies go through the messages' storing step (nonce, group commit,
attachments, the thread's recent list). The parent keeps `replyCount` and `lastReplyAt`, changed only by
atomic `$inc`/`$max` updates, so both stay exact under concurrent replies from any number of processes;
the count each reply announces is the one its own update returned.
"""
from __future__ import annotations

from pymongo import ReturnDocument

from kraken import dependents, domain
from kraken.common.time import iso, utcnow
from kraken.errors import NotFoundError
from kraken.files import service as files
from kraken.messages import recent, service as messages, timeline
from kraken.messages.models import Message
from kraken.messages.schemas import message_out
from kraken.rbac import (Action, access_dm_group, access_thread_parent, require_community_actions,
                         require_not_timed_out)
from kraken.realtime import names
from kraken.realtime.publish import publish
from kraken.threads.models import ThreadSubscriber, subscriber_key
from kraken.threads.schemas import ThreadReplyIn, count_out



def _forget_listing(parent) -> None:
    """The parent's JSON carries its thread's count: drop its conversation's recent list (refilled on
    the next read) rather than patch it, as two processes' patches could land in the wrong order."""
    dependents.wrote(Message, channel_id=parent.direct_message_group_id or parent.channel_id)


def _announce_count(parent, counts: dict) -> None:
    publish(names.THREAD_REPLY_COUNT_UPDATED,
            count_out(parent.id, counts.get("replyCount"), counts.get("lastReplyAt"), parent.channel_id,
                      parent.direct_message_group_id), messages.room_of(parent))


def reply(actor, body: ThreadReplyIn) -> Message:
    """Store a reply, count it on its parent, subscribe its author; broadcast `newThreadReply` then
    `threadReplyCountUpdated` to the parent's room. Replying needs what sending in the conversation
    needs. Raises NotFoundError (parent missing or invisible), ForbiddenError, ValidationError (nested
    thread, spans, attachments), ServiceUnavailableError as messages.send."""
    parent, channel = access_thread_parent(actor, body.parentMessageId, Action.CREATE_MESSAGE)
    if channel is not None:
        require_not_timed_out(actor, channel.community_id)
        messages.check_mentions(channel, body.spans)
        if body.attachments:
            require_community_actions(actor, channel.community_id, Action.CREATE_ATTACHMENT)
        target = channel
    else:
        target = access_dm_group(actor, parent.direct_message_group_id)
        messages.check_dm_mentions(target.id, body.spans)
    attachments = files.claim_attachments(actor, target, list(body.attachments)) if body.attachments else []
    message, out = messages._store(actor, body, attachments, channel_id=parent.channel_id,
                                   direct_message_group_id=parent.direct_message_group_id,
                                   parent_message_id=parent.id)
    if out is None:  # a repeated nonce: already counted and announced
        return message
    counts = Message._get_collection().find_one_and_update(
        {"_id": parent.id}, {"$inc": {"replyCount": 1}, "$max": {"lastReplyAt": message.sent_at}},
        return_document=ReturnDocument.AFTER)  # (FerretDB 1.24: no projection here)
    if counts is None:  # the parent was deleted meanwhile: so is its thread
        _delete_thread(parent.id)
        raise NotFoundError("Parent message not found")
    subscribe_user(actor.id, parent)
    _forget_listing(parent)
    publish(names.NEW_THREAD_REPLY, {"reply": out, "parentMessageId": str(parent.id)}, messages.room_of(parent))
    _announce_count(parent, counts)
    return message


def replies(actor, parent_message_id: str, limit: int, after: str | None) -> tuple[list[str], str | None]:
    """A page of a thread's replies as Message JSON strings, oldest first, starting after the reply
    `after` (also one deleted since; an id not of this thread gives an empty page); the continuation
    token (the page's last id) only for a full page. Raises NotFoundError, ForbiddenError.

    A thread of fewer than recent.KEEP replies is read whole from its recent list (filled from its
    buckets on a miss); a longer one from its buckets, oldest first (timeline.newer)."""
    parent, _ = access_thread_parent(actor, parent_message_id, Action.READ_MESSAGE, root=False)
    above = 0
    if after:
        above = timeline.position(parent.id, after)
        if above is None:
            return [], None
    page = None
    if (parent.reply_count or 0) < recent.KEEP:
        def stored() -> tuple[list[str], bool]:
            found, complete = timeline.older(parent.id, recent.KEEP + 1)
            return [recent.encode(message_out(m), m.seq) for m in found], complete

        newest = recent.read_through(parent.id, recent.KEEP + 1, None, stored)
        if len(newest) <= recent.KEEP:  # the whole thread
            page = [item for item in reversed(newest) if recent.item_seq(item) > above][:limit]
    if page is None:
        found, _ = timeline.newer(parent.id, limit, above)
        page = [recent.encode(message_out(m), m.seq) for m in found[:limit]]
    return [recent.body(item) for item in page], (recent.item_id(page[-1]) if len(page) == limit else None)


def metadata(actor, message) -> dict:
    """`GET /api/threads/:id/metadata` of a message the caller may read (any message: a reply has none)."""
    return {"parentMessageId": str(message.id), "replyCount": message.reply_count or 0,
            "lastReplyAt": iso(message.last_reply_at),
            "isSubscribed": ThreadSubscriber.objects(id=subscriber_key(message.id, actor.id)).count() > 0}


def subscribe_user(user_id, parent) -> None:
    """Idempotent: one upsert by key."""
    ThreadSubscriber._get_collection().update_one(
        {"_id": subscriber_key(parent.id, user_id)},
        {"$setOnInsert": {"parentMessageId": parent.id, "userId": user_id,
                          "channelId": parent.direct_message_group_id or parent.channel_id,
                          "subscribedAt": utcnow()}},
        upsert=True)


def subscribe(actor, parent_message_id: str) -> None:
    """Follow a thread the caller may read. Raises NotFoundError, ForbiddenError, ValidationError (nested)."""
    parent, _ = access_thread_parent(actor, parent_message_id, Action.READ_MESSAGE)
    subscribe_user(actor.id, parent)


def unsubscribe(actor, parent_message_id: str) -> None:
    """Stop following (idempotent). Raises NotFoundError, ForbiddenError."""
    parent, _ = access_thread_parent(actor, parent_message_id, Action.READ_MESSAGE, root=False)
    ThreadSubscriber.objects(id=subscriber_key(parent.id, actor.id)).delete()


def subscriber_ids(parent_message_id: object) -> list[str]:
    """Who follows a thread (for thread-reply notifications)."""
    return [str(u) for u in ThreadSubscriber.objects(parent_message_id=parent_message_id).scalar("user_id")]


def _delete_thread(parent_id) -> None:
    """A deleted parent's replies (bucket by bucket: equalities), their files, numbering and subscriptions."""
    ThreadSubscriber.objects(parent_message_id=parent_id).delete()
    last = timeline.last_seq(parent_id)
    if not last:  # never replied to (most messages): no counter, no buckets
        return
    file_ids: list = []
    for bucket in range(last // timeline.BUCKET + 1):
        key = f"{parent_id}:{bucket}"
        for attachments in Message.objects(bucket=key).scalar("attachments"):
            file_ids.extend(a["id"] for a in attachments or () if a.get("id"))
        Message.objects(bucket=key).delete()
    if file_ids:
        files.delete_files(file_ids)
    timeline.forget_channels([parent_id])
    dependents.wrote(Message, channel_id=parent_id)  # the thread's recent list


def _message_deleted(message) -> None:
    if message.parent_message_id is None:
        _delete_thread(message.id)
        return
    # a reply: its parent counts one less (the reference never did: docs/decisions/0044-threads.md)
    parent = Message.objects(id=message.parent_message_id).only(
        "id", "channel_id", "direct_message_group_id").first()
    if parent is None:
        return
    counts = Message._get_collection().find_one_and_update(
        {"_id": parent.id, "replyCount": {"$gte": 1}}, {"$inc": {"replyCount": -1}},
        return_document=ReturnDocument.AFTER)  # (FerretDB 1.24: no projection here)
    if counts is not None:
        _forget_listing(parent)
        _announce_count(parent, counts)


def _channels_removing(community_id, *, channel_ids) -> None:
    """The channels' messages (replies included) go with them: so do the subscriptions of their threads."""
    for channel_id in channel_ids:  # one equality each
        ThreadSubscriber.objects(channel_id=channel_id).delete()


def _user_removing(user) -> None:
    """A deleted account follows no thread (its replies stay, as its other messages do)."""
    ThreadSubscriber.objects(user_id=user.id).delete()


def init_app() -> None:
    domain.connect(domain.message_deleted, _message_deleted)
    domain.connect(domain.channels_removing, _channels_removing)
    domain.connect(domain.user_removing, _user_removing)
