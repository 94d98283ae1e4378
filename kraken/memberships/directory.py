"""Each community's member directory (decision 0056): what member search reads, kept exact by the
writes of memberships and users through kraken.dependents, like the channel index.

A member's line says what the store says now: after a write, the writer reads the truth (the
membership, the user), writes the line, and reads the truth again until it no longer changes under
it, so whichever writer finishes last wrote what is true (the write-then-read-again loop of
kraken.channels.models.index_channel). The directory document is replaced by compare-and-set on its
version: two writers never lose each other's lines."""
from __future__ import annotations

import bisect
from datetime import timezone

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from kraken import dependents
from kraken.common.lookups import each
from kraken.memberships.models import MemberDirectory, Membership, pack, unpack
from kraken.users.models import User

SEP = "\x1f"
UNLISTED = ""  # the name key of a member who is not listed (a disabled or missing account)


def _clean(text: str | None) -> str:
    return (text or "").lower().replace(SEP, " ").replace("\n", " ")


def name_key(user) -> str:
    """What a user's directory line says of them: lower-cased username and display name, or
    UNLISTED for a disabled or missing account."""
    if user is None or user.disabled:
        return UNLISTED
    return f"{_clean(user.username)}{SEP}{_clean(user.display_name)}"


def _ms(moment) -> int:
    return int(moment.replace(tzinfo=timezone.utc).timestamp() * 1000)


def _line(key: str, user_id, membership_id, joined_ms: int) -> str:
    """`username SEP display name SEP userId SEP membershipId SEP joinedAt (ms)`: all a search answers
    but the user, so a hit costs one look-up (the user) at most."""
    return f"{key}{SEP}{user_id}{SEP}{membership_id}{SEP}{joined_ms}"


def _collection():
    return MemberDirectory._get_collection()


def _user(user_id) -> User | None:
    return User.objects(id=user_id).only("username", "display_name", "disabled").first()


def _truth(community_id, user_id) -> tuple | None:
    """What the member's line says now: (name key, membership id, joined at in ms); None when not a
    member."""
    membership = Membership.objects(community_id=community_id, user_id=user_id).only("id", "joined_at").first()
    if membership is None:
        return None
    return name_key(_user(user_id)), str(membership.id), _ms(membership.joined_at)


def read(community_id) -> str:
    """The community's directory text (built first if it has none)."""
    found = _collection().find_one({"_id": ObjectId(str(community_id))}, {"z": 1})
    if found is None:
        return rebuild(community_id)
    return unpack(found.get("z"))


def _replace(community_id, change) -> bool:
    """Apply `change(lines) -> lines` to the directory by compare-and-set; False if it has none."""
    key = ObjectId(str(community_id))
    while True:
        found = _collection().find_one({"_id": key})
        if found is None:
            return False
        text = unpack(found.get("z"))
        lines = change(text.split("\n") if text else [])
        if _collection().update_one({"_id": key, "v": found.get("v", 0)},
                                    {"$set": {"z": pack("\n".join(lines))}, "$inc": {"v": 1}}).modified_count:
            return True


def _set_line(community_id, user_id, state: tuple | None) -> None:
    inside = f"{SEP}{user_id}{SEP}"

    def change(lines: list[str]) -> list[str]:
        kept = [line for line in lines if inside not in line]
        if state is not None and state[0]:  # a member with a listed account
            bisect.insort(kept, _line(state[0], user_id, state[1], state[2]))
        return kept

    if not _replace(community_id, change):
        rebuild(community_id)


def sync(community_id, user_id) -> None:
    """Make the directory (and the membership's name key) say what is true of one member now."""
    state = _truth(community_id, user_id)
    while True:
        if state is not None:
            Membership.objects(community_id=community_id, user_id=user_id).update_one(set__name_key=state[0])
        _set_line(community_id, user_id, state)
        now = _truth(community_id, user_id)
        if now == state:
            return
        state = now


def rebuild(community_id, write_keys: bool = False) -> str:
    """The whole directory of a community from its memberships and users (a migration, a community
    whose directory was never written, a bulk write of its memberships); removed when it has no
    members. `write_keys`: also give each membership its name key (migration 0009). Returns the text
    written. Reads every member (one `_id` look-up each): not for hot paths."""
    key = ObjectId(str(community_id))
    while True:
        found = _collection().find_one({"_id": key}, {"v": 1})
        members = list(Membership.objects(community_id=key).only("id", "user_id", "joined_at", "name_key")
                       .as_pymongo())
        users = {u.id: u for u in each(_user, [m["userId"] for m in members]) if u is not None}
        keys = {m["userId"]: name_key(users.get(m["userId"])) for m in members}
        if write_keys:
            for m in members:
                if m.get("nameKey") != keys[m["userId"]]:
                    Membership.objects(id=m["_id"]).update_one(set__name_key=keys[m["userId"]])
        lines = sorted(_line(keys[m["userId"]], m["userId"], m["_id"], _ms(m["joinedAt"]))
                       for m in members if keys[m["userId"]])
        text = "\n".join(lines)
        if found is None:
            if not members:
                return ""
            try:
                _collection().insert_one({"_id": key, "v": 0, "z": pack(text)})
                return text
            except DuplicateKeyError:
                continue
        if not members:
            if _collection().delete_one({"_id": key, "v": found.get("v", 0)}).deleted_count:
                return ""
            continue
        if _collection().update_one({"_id": key, "v": found.get("v", 0)},
                                    {"$set": {"z": pack(text)}, "$inc": {"v": 1}}).modified_count:
            return text


def _membership_keys(membership) -> list[tuple]:
    """(community, user) written; (community, None) for a bulk write of a community's memberships."""
    return [(membership.community_id, getattr(membership, "user_id", None))]


def _memberships_written(keys: set) -> None:
    for community_id, user_id in keys:
        if user_id is None:
            rebuild(community_id)
        else:
            sync(community_id, user_id)


def _user_keys(user) -> list:
    return [user.id]


def _users_written(user_ids: set) -> None:
    """A user written (a profile, a rename, disabled, or anything else): the communities whose line
    of them no longer says their names (the memberships' name keys: one `userId` equality)."""
    for user_id in user_ids:
        key = name_key(_user(user_id))
        for membership in Membership.objects(user_id=user_id).only("community_id", "name_key").as_pymongo():
            if membership.get("nameKey") != key:
                sync(membership["communityId"], user_id)


dependents.depends(Membership, _membership_keys, _memberships_written)
dependents.depends(User, _user_keys, _users_written)
