"""Friend requests, friendships and user blocks (kraken-head-features §5).

A pair of users has at most one Friendship row, whoever asked: its unique `pairKey` decides races in
the database. Of two requests racing in the same direction one is stored (201) and the other is told
it was already sent (409); of two crossing requests (A asks B while B asks A) the second finds the
first one's pending row and accepts it, so the pair ends with one ACCEPTED friendship. A block (either
way) refuses new requests and the acceptance of an old one (docs/decisions/0058-friends-and-blocks.md).
No socket events: clients refetch. A deleted account's friendships, requests and blocks, on either side,
go with it (`user_removing`).
"""
from __future__ import annotations

from bson import ObjectId
from mongoengine import NotUniqueError

from kraken import domain
from kraken.common.lookups import by_ids
from kraken.errors import ConflictError, ForbiddenError, NotFoundError
from kraken.friends.lookups import blocked_between, has_blocked
from kraken.friends.models import ACCEPTED, PENDING, Friendship, UserBlock, block_key, pair_key
from kraken.users.lookups import active_user
from kraken.users.models import User


def _mine(user_id: object) -> list[Friendship]:
    """Every row the user is in: two indexed equalities, not an `$or`."""
    return list(Friendship.objects(user_a_id=user_id)) + list(Friendship.objects(user_b_id=user_id))


def users_by_id(ids) -> dict:
    return {u.id: u for u in by_ids(User, list(ids))}


def friends(actor) -> list[tuple[Friendship, User]]:
    """The caller's ACCEPTED friendships with the other party."""
    rows = [f for f in _mine(actor.id) if f.status == ACCEPTED]
    users = users_by_id(f.other(actor.id) for f in rows)
    return [(f, users[f.other(actor.id)]) for f in rows if f.other(actor.id) in users]


def requests(actor) -> tuple[list[Friendship], list[Friendship], dict]:
    """The caller's PENDING requests: (sent, received, the users of both by id)."""
    rows = [f for f in _mine(actor.id) if f.status == PENDING]
    sent = [f for f in rows if f.user_a_id == actor.id]
    received = [f for f in rows if f.user_b_id == actor.id]
    users = users_by_id({actor.id} | {f.other(actor.id) for f in rows})
    return sent, received, users


def status(actor, user_id: str) -> dict:
    row = Friendship.objects(pair_key=pair_key(actor.id, user_id)).first()
    if row is None:
        return {"status": None, "friendshipId": None, "direction": None}
    direction = None
    if row.status == PENDING:
        direction = "sent" if row.user_a_id == actor.id else "received"
    return {"status": row.status, "friendshipId": str(row.id), "direction": direction}


def _accept_pending(row: Friendship) -> Friendship:
    """PENDING -> ACCEPTED, once: raises ConflictError when it is no longer pending."""
    if not Friendship.objects(id=row.id, status=PENDING).update_one(set__status=ACCEPTED):
        raise ConflictError("Friend request is not pending", code="NOT_PENDING")
    row.reload()
    return row


def request(actor, user_id: str) -> Friendship:
    """Ask `user_id`; a pending request of theirs to the caller is accepted instead. Raises
    ForbiddenError (self, a block either way), NotFoundError (no such user), ConflictError (already
    friends, already asked)."""
    if str(actor.id) == user_id:
        raise ForbiddenError("Cannot send friend request to yourself", code="FRIEND_SELF")
    target = active_user(user_id)
    if target is None:
        raise NotFoundError("User not found")
    if blocked_between(actor.id, target.id):
        raise ForbiddenError("Cannot send friend request to this user", code="USER_BLOCKED")
    key = pair_key(actor.id, target.id)
    row = Friendship.objects(pair_key=key).first()
    if row is None:
        try:
            return Friendship(pair_key=key, user_a_id=actor.id, user_b_id=target.id).save(force_insert=True)
        except NotUniqueError:  # a request of the pair was stored meanwhile: answer as if we had seen it
            row = Friendship.objects(pair_key=key).first()
            if row is None:  # and already declined or cancelled: ask again
                return request(actor, user_id)
    if row.status == ACCEPTED:
        raise ConflictError("Already friends with this user", code="ALREADY_FRIENDS")
    if row.user_a_id == actor.id:
        raise ConflictError("Friend request already sent", code="REQUEST_ALREADY_SENT")
    try:
        return _accept_pending(row)
    except ConflictError:  # accepted by its addressee meanwhile
        raise ConflictError("Already friends with this user", code="ALREADY_FRIENDS") from None


def _pending_row(friendship_id: str) -> Friendship:
    row = Friendship.objects(id=friendship_id).first()
    if row is None:
        raise NotFoundError("Friend request not found")
    return row


def accept(actor, friendship_id: str) -> Friendship:
    """Accept a request addressed to the caller; refused (403) across a block. Raises 404/403/409."""
    row = _pending_row(friendship_id)
    if row.user_b_id != actor.id:
        raise ForbiddenError("Cannot accept this friend request", code="NOT_ADDRESSEE")
    if row.status != PENDING:
        raise ConflictError("Friend request is not pending", code="NOT_PENDING")
    if blocked_between(row.user_a_id, row.user_b_id):
        raise ForbiddenError("Cannot accept this friend request: one of you blocked the other",
                             code="USER_BLOCKED")
    return _accept_pending(row)


def _delete_pending(actor, friendship_id: str, party: str, verb: str) -> None:
    row = _pending_row(friendship_id)
    if getattr(row, party) != actor.id:
        raise ForbiddenError(f"Cannot {verb} this friend request", code="NOT_ALLOWED")
    if row.status != PENDING or not Friendship.objects(id=row.id, status=PENDING).delete():
        raise ConflictError("Friend request is not pending", code="NOT_PENDING")


def decline(actor, friendship_id: str) -> None:
    """The addressee drops a pending request. Raises 404/403/409."""
    _delete_pending(actor, friendship_id, "user_b_id", "decline")


def cancel(actor, friendship_id: str) -> None:
    """The requester withdraws a pending request. Raises 404/403/409."""
    _delete_pending(actor, friendship_id, "user_a_id", "cancel")


def remove(actor, friendship_id: str) -> None:
    """Either friend ends an ACCEPTED friendship. Raises 404/403/409."""
    row = Friendship.objects(id=friendship_id).first()
    if row is None:
        raise NotFoundError("Friendship not found")
    if actor.id not in (row.user_a_id, row.user_b_id):
        raise ForbiddenError("Cannot remove this friendship", code="NOT_ALLOWED")
    if row.status != ACCEPTED or not Friendship.objects(id=row.id, status=ACCEPTED).delete():
        raise ConflictError("Not friends with this user", code="NOT_FRIENDS")


# blocks ------------------------------------------------------------------------------------------

def block(actor, user_id: str) -> None:
    """Idempotent; keeps an existing friendship (the reference does). Raises 403 (self), 404."""
    if str(actor.id) == user_id:
        raise ForbiddenError("Cannot block yourself", code="BLOCK_SELF")
    target = User.objects(id=user_id).only("id").first()
    if target is None:
        raise NotFoundError("User to block not found")
    try:
        UserBlock(id=block_key(actor.id, target.id), blocker_id=actor.id, blocked_id=target.id).save(force_insert=True)
    except NotUniqueError:
        pass


def unblock(actor, user_id: str) -> None:
    """Idempotent."""
    UserBlock.objects(id=block_key(actor.id, ObjectId(user_id))).delete()


def blocked_users(actor) -> list[User]:
    ids = list(UserBlock.objects(blocker_id=actor.id).scalar("blocked_id"))
    return sorted(by_ids(User, ids), key=lambda u: u.username)


def is_blocked(actor, user_id: str) -> bool:
    return has_blocked(actor.id, user_id)


# a deleted account ---------------------------------------------------------------------------------

def _user_removing(user) -> None:
    """Every friendship, request and block the user is in, on either side: one indexed equality each."""
    Friendship.objects(user_a_id=user.id).delete()
    Friendship.objects(user_b_id=user.id).delete()
    UserBlock.objects(blocker_id=user.id).delete()
    UserBlock.objects(blocked_id=user.id).delete()


def init_app() -> None:
    domain.connect(domain.user_removing, _user_removing)
