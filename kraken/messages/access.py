"""Loading a message the caller may act on (resource MESSAGE → channel → community)."""
from __future__ import annotations

from kraken.errors import NotFoundError
from kraken.rbac import Action, access_channel


def access_message(user, message_id: object, *actions: Action):
    """The message, if its channel is readable by `user` and they hold `actions` in its community.

    Raises NotFoundError (missing, or in a channel they cannot see), ForbiddenError.
    """
    from kraken.messages.models import Message
    message = Message.objects(id=message_id).first()
    if message is None:
        raise NotFoundError("Message not found")
    access_channel(user, message.channel_id, *actions, enter=True)
    return message
