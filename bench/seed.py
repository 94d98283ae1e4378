"""Private bench databases: a community with many members, tokens, and bulk message history.

Users, memberships and role assignments are inserted in bulk (documents built from Kraken's own
models, so field names stay right); the community, its roles and channels come from the services.
Access tokens are minted with the app's own `access_token_for`. Indexes come from the app's
migration (`flask --app wsgi kraken migrate`). Everything lives in `kraken_bench_*` databases and
a Redis DB of its own, dropped at the end by `drop()`.
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from bson import ObjectId

from common import ROOT, bench_settings, server_env  # noqa: F401 - sets sys.path
from harness import VENV_BIN
from tests.redis_dbs import claim

REDIS_DB = claim("bench")  # a Redis DB of this run's own (tests/redis_dbs.py)
PASSWORD = "bench password 1"
# OWASP's minimum for argon2id (m=19 MiB, t=2, p=1): Kraken's default, so the server never rehashes.
OWASP = {"memory_cost": 19456, "time_cost": 2, "parallelism": 1}


@dataclass
class World:
    db: str
    settings: object
    app: object
    community_id: str = ""
    channel_id: str = ""
    owner_id: str = ""
    owner_token: str = ""
    tokens: list[str] = field(default_factory=list)  # one per bulk member, in insertion order
    newest_messages: list[dict] = field(default_factory=list)  # the last 200 inserted, newest first
    user_ids: list[str] = field(default_factory=list)
    login_username: str = ""

    @property
    def env(self) -> dict[str, str]:
        return server_env(self.settings)

    @property
    def mongo(self):
        """This world's database through its own pymongo client: MongoEngine's default connection
        follows the last `create_app`, so it may point at another world's database."""
        if "_mongo" not in self.__dict__:
            from pymongo import MongoClient
            self.__dict__["_mongo"] = MongoClient(self.settings.mongodb_url, tz_aware=True)[self.db]
        return self.__dict__["_mongo"]


def open_world(db: str) -> World:
    """A fresh, empty private database (dropped first) and its app; its Redis DB flushed."""
    import mongoengine
    from kraken import create_app
    from kraken.extensions import redis
    settings = bench_settings(db, redis_db=REDIS_DB)
    app = create_app(settings)
    with app.app_context():
        mongoengine.get_connection().drop_database(db)
        redis.flushdb()
    migrate(settings)
    return World(db=db, settings=settings, app=app)


def migrate(settings) -> None:
    """The app's own migration (indexes) against the private database."""
    subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "kraken", "migrate"], cwd=ROOT,
                   env={**server_env(settings), "PYTHONPATH": str(ROOT)}, check=True, capture_output=True,
                   timeout=120)


def populate(world: World, members: int, login_user: bool = False) -> World:
    """Owner + community (services), then `members` members in bulk with one access token each."""
    from argon2 import PasswordHasher
    from kraken import dependents
    from kraken.auth.service import access_token_for
    from kraken.channels.models import Channel
    from kraken.communities import service as communities
    from kraken.memberships.models import Membership
    from kraken.rbac import MEMBER
    from kraken.roles.models import Role, UserRole
    from kraken.users import service as users
    from kraken.users.models import User
    with world.app.app_context():
        owner = users.create_owner("bench-owner", PASSWORD)
        community = communities.create(owner, name="Bench", description=None, avatar=None, banner=None)
        channel = Channel.objects(community_id=community.id, type="TEXT").first()
        member_role = Role.objects(community_id=community.id, name=MEMBER).first()
        hashed = PasswordHasher(**OWASP).hash(PASSWORD)
        people = [User(id=ObjectId(), username=f"bench{i}", hashed_password=hashed, display_name=f"bench{i}")
                  for i in range(members)]
        if login_user:
            people.append(User(id=ObjectId(), username="bench-login", hashed_password=hashed))
            world.login_username = "bench-login"
        for start in range(0, len(people), 1000):
            chunk = people[start:start + 1000]
            User._get_collection().insert_many([u.to_mongo() for u in chunk])
            Membership._get_collection().insert_many(
                [Membership(user_id=u.id, community_id=community.id).to_mongo() for u in chunk])
            UserRole._get_collection().insert_many(
                [UserRole(user_id=u.id, role_id=member_role.id, community_id=community.id).to_mongo() for u in chunk])
        dependents.wrote(Membership, UserRole, community_id=community.id)  # raw inserts send no signal
        world.community_id, world.channel_id = str(community.id), str(channel.id)
        world.owner_id = str(owner.id)
        world.owner_token = access_token_for(owner, ObjectId())
        world.tokens = [access_token_for(u, ObjectId()) for u in people[:members]]
        world.user_ids = [str(u.id) for u in people[:members]]
    return world


def insert_messages(world: World, count: int, batch: int = 5000) -> float:
    """Append `count` messages to the world's channel with pymongo `insert_many`; returns seconds."""
    from kraken.messages import timeline
    collection = world.mongo["messages"]
    channel, author = ObjectId(world.channel_id), ObjectId(world.owner_id)
    start_at = datetime.now(timezone.utc) - timedelta(days=30)
    started = time.perf_counter()
    done = 0
    while done < count:
        n = min(batch, count - done)
        docs = [{
            "_id": ObjectId(), "channelId": channel, "authorId": author,
            "spans": [{"type": "PLAINTEXT", "text": f"history message {done + i}: lorem ipsum dolor sit amet"}],
            "attachments": [], "reactions": [], "sentAt": start_at + timedelta(seconds=done + i)}
            for i in range(n)]
        timeline.number(docs, world.mongo["message_counters"])  # as the app stores them
        collection.insert_many(docs, ordered=False)
        world.newest_messages = (docs[::-1] + world.newest_messages)[:200]
        done += n
    return time.perf_counter() - started


def count_stored(world: World, ids: list[str]) -> int:
    """How many of these message ids are stored."""
    wanted = set(ids)
    found = world.mongo["messages"].find({"channelId": ObjectId(world.channel_id)}, {"_id": 1})
    return sum(1 for doc in found if str(doc["_id"]) in wanted)


def drop(world: World) -> None:
    import mongoengine
    from kraken.extensions import redis
    with world.app.app_context():
        mongoengine.get_connection().drop_database(world.db)
        redis.flushdb()
