"""Permission answers cached in Redis (docs/decisions/0020-redis-caches.md), per scope (a community or the instance).

Each scope has a hash `kraken:cache:perm:<scope>` (field = user id) and a
generation counter. A reader notes the generation *before* reading the
database and stores its answer only if the generation is unchanged; every
write path bumps the generation *after* its database write. So an answer
computed from data older than a revocation is never stored, and the next
request after a revocation recomputes: no stale "allowed", in any process.
Without Redis the answers are computed every time.

Generations are unique tokens (never a counter that could come round again after
its key expired): a missing key is created with a fresh token, so a value
remembered against an older token can never match. `kraken.localcache` uses the
same generations to trust process-local copies of a community's documents.

What bumps a scope is declared at the end of this module (kraken.dependents): the documents the
answers and the copies are computed from. Services write; they never bump a scope themselves.
"""
from __future__ import annotations

import json
import logging
import secrets
from typing import Callable

from redis.exceptions import RedisError

from kraken import dependents
from kraken.channel_memberships.models import ChannelMembership
from kraken.channels.models import Channel
from kraken.common.lookups import each
from kraken.communities.models import Community
from kraken.extensions import redis
from kraken.localcache import StampedCache
from kraken.memberships.models import Membership
from kraken.moderation.models import CommunityTimeout
from kraken.roles.models import Role, UserRole
from kraken.users.models import User

log = logging.getLogger("kraken.permcache")
PREFIX = "kraken:cache:"
TTL_SECONDS = 600
GENERATION_TTL_SECONDS = 86400
INSTANCE_SCOPE = "instance"

_STORE_IF_CURRENT = """
local gen = redis.call('GET', KEYS[1])
if gen == ARGV[1] then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  return 1
end
return 0
"""


def _keys(scope: str) -> tuple[str, str]:
    return f"{PREFIX}permgen:{scope}", f"{PREFIX}perm:{scope}"


def _token() -> str:
    return secrets.token_hex(12)


def user_scope(user_id: object) -> str:
    """The scope of one user's own document (kraken.users keeps process-local copies under it)."""
    return f"user:{user_id}"


def generation_key(scope: str) -> str:
    """The Redis key of `scope`'s generation (kept per process while Redis tracks it)."""
    return _keys(scope)[0]


def queue_generation(pipe, scope: str) -> None:
    """Add reading `scope`'s generation to a caller's pipeline; it is the *last* result of the two added."""
    gen_key, _ = _keys(scope)
    pipe.set(gen_key, _token(), nx=True, ex=GENERATION_TTL_SECONDS)
    pipe.get(gen_key)


def generation(scope: str) -> str | None:
    """The scope's current generation (None without Redis): this process's tracked copy, else one
    round trip. Read it *before* the database read whose result it stamps."""
    return generations([scope])[scope]


class Copies:
    """This process's copies of what a scope's documents say (a community's channel list, a user),
    each trusted while its scope's generation is the one read before the database read that made
    it (kraken.localcache). Callers name the key and how to read it, never a generation."""

    def __init__(self, maxsize: int, scope: Callable[[object], str] = str) -> None:
        self._copies: StampedCache = StampedCache(maxsize)
        self._scope = scope

    def resolve(self, key: object, fetch: Callable[[], object]):
        """The trusted copy of `key`, else fetch() (None is not kept). Shared: do not change it."""
        return self._copies.resolve(str(key), generation(self._scope(key)), fetch)

    def resolve_many(self, keys: list, fetch: Callable[[object], object]) -> dict[str, object]:
        """`resolve` for several keys, their generations read in one round trip: {str(key): copy}.
        The keys without a trusted copy are fetched a few at a time (kraken.common.lookups.each: a cold
        `unread-counts` or `subscribeAll` reads 20 communities' channel indexes)."""
        held = generations([self._scope(key) for key in keys])
        out = {str(key): self._copies.get(str(key), held[self._scope(key)]) for key in keys}
        missing = [key for key in keys if out[str(key)] is None]
        for key, value in zip(missing, each(fetch, missing)):
            if value is None:
                self._copies.forget(str(key))
            else:
                self._copies.put(str(key), held[self._scope(key)], value)
            out[str(key)] = value
        return out


def generations(scopes: list[str]) -> dict[str, str | None]:
    """The current generation of each scope: held ones from this process, the rest in one round trip
    (None for all without Redis). Read before the database reads they stamp, as in `cached`."""
    tracked = redis.tracked
    out: dict[str, str | None] = {}
    missing = []
    for scope in scopes:
        held = tracked.get((generation_key(scope),))
        if held is not None:
            out[scope] = held[0]
        else:
            missing.append(scope)
    if missing:
        ticket = tracked.ticket()
        try:
            pipe = redis.pipeline(transaction=False)
            for scope in missing:
                queue_generation(pipe, scope)
            results = pipe.execute()
        except RedisError:
            return {scope: None for scope in scopes}
        read = dict(zip(missing, results[1::2]))
        tracked.put(ticket, {generation_key(scope): gen for scope, gen in read.items()})
        out.update(read)
    return out


# Answers this process read or computed, trusted while their scope's generation is the one they
# were read under: with the generation held locally (kraken.tracking), a warm check makes no round trip.
_answers: StampedCache = StampedCache(50000)


def cached(scope: str, user_id: str, compute: Callable[[], dict]) -> tuple[dict, str | None]:
    """(answer, generation) for (scope, user), computing and storing the answer on a miss.

    The generation was read before any database read this call makes; None without Redis.
    Callers must not change the answer in place (it is shared by the process's greenlets).
    """
    gen_key, hash_key = _keys(scope)
    tracked = redis.tracked
    held = tracked.get((gen_key,))
    if held is not None:
        answer = _answers.get((scope, user_id), held[0])
        if answer is not None:
            return answer, held[0]
    ticket = tracked.ticket()
    try:
        pipe = redis.pipeline(transaction=False)
        queue_generation(pipe, scope)  # the generation first: the answer read next is at least as new
        pipe.hget(hash_key, user_id)
        _, generation, hit = pipe.execute()
    except RedisError:
        return compute(), None
    tracked.put(ticket, {gen_key: generation})
    if hit is not None:
        value = json.loads(hit)
    else:
        value = compute()
        try:
            redis.eval(_STORE_IF_CURRENT, 2, gen_key, hash_key, generation, user_id, json.dumps(value), TTL_SECONDS)
        except RedisError:
            pass
    _answers.put((scope, user_id), generation, value)
    return value, generation


def invalidate(*scopes: str) -> None:
    """Forget every answer of the scopes and bump their generations, in one round trip. Called by
    kraken.dependents for the dependencies declared below (which redoes it when Redis was away);
    raises RedisError."""
    pipe = redis.pipeline(transaction=True)
    for scope in scopes:
        gen_key, hash_key = _keys(scope)
        pipe.set(gen_key, _token(), ex=GENERATION_TTL_SECONDS)
        pipe.delete(hash_key)
    pipe.execute()


def _bump(scopes: set) -> None:
    invalidate(*scopes)


def _community_scope(document) -> list[str]:
    """A community's scope; the instance's for instance roles and their assignments."""
    return [str(document.community_id) if document.community_id is not None else INSTANCE_SCOPE]


# What a scope's answers (kraken.rbac: memberships, role assignments, roles' actions, private-channel
# memberships, timeouts) and its process-local copies (communities, channels, channel and role lists, users)
# are computed from: a write of any of these documents bumps the scope.
dependents.depends(Community, lambda community: [str(community.id)], _bump)
dependents.depends(Channel, _community_scope, _bump)
dependents.depends(Membership, _community_scope, _bump)
dependents.depends(ChannelMembership, _community_scope, _bump)
dependents.depends(Role, _community_scope, _bump)
dependents.depends(UserRole, _community_scope, _bump)
dependents.depends(User, lambda user: [user_scope(user.id)], _bump)
# a member's timeout is part of their answer in the community (docs/decisions/0053-moderation.md)
dependents.depends(CommunityTimeout, _community_scope, _bump)
