"""Block look-ups the features below the friends service ask (user search, direct messages): each is
`_id` or one indexed equality (decision 0033)."""
from __future__ import annotations

from kraken.friends.models import UserBlock, block_key


def has_blocked(blocker: object, blocked: object) -> bool:
    return UserBlock.objects(id=block_key(blocker, blocked)).count() > 0


def blocked_between(one: object, other: object) -> bool:
    """Whether either of the two blocked the other."""
    return has_blocked(one, other) or has_blocked(other, one)


def blockers_of(user_id: object) -> set:
    """The ids (ObjectId) of the users who blocked `user_id`."""
    return set(UserBlock.objects(blocked_id=user_id).scalar("blocker_id"))
