"""The tests' one vocabulary: an API client that carries a bearer token, a factory for every main
document (made through the app's services, so the data is what the app itself would store), and
`Club`, the community every permission, messaging and voice test starts from (the `community`
fixture in tests/conftest.py).

Club's cast, by what each one is (usernames are these names; every password is Factory.PASSWORD):
  owner     the instance OWNER, not a member of the community
  admin     created the community "Club" (Community Admin + Member)
  mod       member with Moderator
  member    plain member
  pcmember  member who belongs to the private channel `private` ("secret")
  nopc      member without the private channel
  removed   was a member, removed
  outsider  created another community, "Elsewhere" (so: admin elsewhere, stranger here)
  target    member who holds the instance role "Instance Admin" (something to take away)
  stranger  a registered user in no community (someone to add)
Direct messages: `dm`, the 1:1 conversation of member and pcmember; `dm_group`, a group conversation of
admin (its creator), member and pcmember.
"""
from __future__ import annotations

import io
import itertools
import threading
import time
from dataclasses import dataclass, field

import mongoengine
from bson import ObjectId

from kraken import dependents
from kraken.alias_groups import service as alias_groups
from kraken.alias_groups.models import AliasGroup
from kraken.auth.service import start_session
from kraken.channel_memberships import service as channel_memberships
from kraken.channels import service as channels
from kraken.channels.models import Channel
from kraken.communities import service as communities
from kraken.communities.models import Community
from kraken.direct_messages import service as direct_messages
from kraken.direct_messages.models import DirectMessageGroup
from kraken.direct_messages.schemas import GroupCreateIn
from kraken.extensions import redis
from kraken.files import service as files
from kraken.files.models import File
from kraken.files.schemas import Upload
from kraken.invites import service as invites
from kraken.invites.models import Invite
from kraken.memberships import service as memberships
from kraken.messages import service as messages
from kraken.messages.models import Message
from kraken.messages.schemas import MessageIn
from kraken.read_state import service as read_state
from kraken.realtime import background
from kraken.rbac import COMMUNITY_ADMIN, INSTANCE_ADMIN, MEMBER, MODERATOR
from kraken.roles import service as roles
from kraken.roles.models import Role
from kraken.search import service as search
from kraken.users import service as users
from kraken.users.models import User

_seq = itertools.count(1)

# who may hold a token in Club (everyone but target and stranger, who are only acted upon)
PRINCIPALS = ("owner", "admin", "mod", "member", "pcmember", "nopc", "removed", "outsider")
PEOPLE = PRINCIPALS + ("target", "stranger")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


class ApiClient:
    """Flask test client wrapper that sends `Authorization: Bearer <token>` when it has one."""

    def __init__(self, client, token: str | None = None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        merged = dict(headers or {})
        if self.token and "Authorization" not in merged:
            merged["Authorization"] = f"Bearer {self.token}"
        return merged

    def open(self, method, path, headers=None, **kwargs):
        return self.client.open(path, method=method, headers=self._headers(headers), **kwargs)

    def get(self, path, **kw): return self.open("GET", path, **kw)
    def post(self, path, **kw): return self.open("POST", path, **kw)
    def put(self, path, **kw): return self.open("PUT", path, **kw)
    def patch(self, path, **kw): return self.open("PATCH", path, **kw)
    def delete(self, path, **kw): return self.open("DELETE", path, **kw)

    def cookie(self, name="refresh_token"):
        c = self.client.get_cookie(name)
        return c.value if c else None


def _id(value) -> ObjectId:
    """A document or an id (ObjectId or str) -> its ObjectId."""
    value = getattr(value, "id", value)
    return value if isinstance(value, ObjectId) else ObjectId(str(value))


class Factory:
    """Every main document, made the way the app makes it. Arguments take documents or ids."""

    PASSWORD = "correct horse battery"

    def __init__(self, app):
        self.app = app

    # --- people ------------------------------------------------------------------------------------

    def invite(self, **kwargs) -> Invite:
        """An invite (instance-wide unless `community_ids`/`scope` say otherwise)."""
        kwargs.setdefault("created_by", None)
        return invites.create_invite(**kwargs)

    def user(self, username: str | None = None, password: str = PASSWORD, email: str | None = None) -> User:
        """A user registered with a one-use invite, as POST /api/users does."""
        username = username or f"user{next(_seq)}"
        code = self.invite(max_uses=1).code
        return users.register(username=username, password=password, email=email, code=code, mode="invite")

    def owner(self, username: str = "owner", password: str = PASSWORD) -> User:
        return users.create_owner(username, password)

    def token(self, user: User) -> str:
        """A fresh access token of a new session of `user`, without going through HTTP."""
        return start_session(user).access_token

    def api(self, user: User | None) -> ApiClient:
        """A test client carrying a new session's token of `user` (anonymous for None)."""
        return ApiClient(self.app.test_client(), self.token(user) if user is not None else None)

    # --- communities and what is in them ---------------------------------------------------------------

    def community(self, creator: User, name: str | None = None, description: str | None = None) -> Community:
        """A community as the app creates it: the creator's membership, the default roles (creator:
        Community Admin + Member), `general` (TEXT) and `General` (VOICE)."""
        return communities.create(creator, name=name or f"community{next(_seq)}", description=description,
                                  avatar=None, banner=None)

    def channel(self, community, creator: User, name: str | None = None, type: str = "TEXT",
                private: bool = False, members=(), description: str | None = None) -> Channel:
        """A channel; a private one gets `members` (community members) besides."""
        channel = channels.create(creator, _id(community), name=name or f"channel{next(_seq)}", type=type,
                                  is_private=private, description=description)
        for user in members:
            self.channel_member(channel, user)
        return channel

    def default_channel(self, community, type: str = "TEXT") -> Channel:
        """The channel the app made with the community: `general` (TEXT) or `General` (VOICE)."""
        return Channel.objects(community_id=_id(community), type=type,
                               name="general" if type == "TEXT" else "General").get()

    def member(self, user, community):
        """Membership (with the Member role), as an invite or an admin's add makes it."""
        return memberships.join(_id(user), _id(community))

    def remove_member(self, user, community) -> None:
        memberships.remove(_id(community), _id(user))

    def channel_member(self, channel: Channel, user) -> None:
        """Channel membership of a private channel (the user must be a community member)."""
        channel_memberships.give(channel, _id(user))

    def role(self, community, name: str | None = None, actions=("READ_COMMUNITY",), by: User | None = None) -> Role:
        """A custom community role. `by` defaults to the instance owner (no escalation check)."""
        actor = by or User.objects(role="OWNER").first()
        return roles.create_role(actor, None, _id(community), name or f"role{next(_seq)}", list(actions))

    def default_role(self, community, name: str = MEMBER) -> Role:
        """One of the roles the app made with the community: COMMUNITY_ADMIN, MODERATOR or MEMBER."""
        return Role.objects(community_id=_id(community), name=name).get()

    def instance_role(self, name: str = INSTANCE_ADMIN) -> Role:
        roles.ensure_instance_roles()
        return Role.objects(community_id=None, name=name).get()

    def assign(self, user, role: Role) -> None:
        """A role assignment (community or instance role), without checks, as creation paths do."""
        roles.give(_id(user), role)

    def alias_group(self, community, name: str | None = None, members=()) -> AliasGroup:
        """An alias (mention) group of community members, through the app's service (rooms move)."""
        out = alias_groups.create(_id(community), name or f"group{next(_seq)}", [_id(u) for u in members])
        return AliasGroup.objects(id=out["id"]).get()

    # --- messages and files ------------------------------------------------------------------------

    def message(self, channel, author, text: str = "seed", **fields) -> Message:
        """A stored message, numbered in its channel as the app numbers it (Message.save), without
        events or checks: data that is simply there."""
        spans = [{"type": "PLAINTEXT", "text": text}]
        return Message(channel_id=_id(channel), author_id=_id(author), spans=spans, **fields).save()

    def send(self, author: User, channel, text: str = "hello", **body) -> Message:
        """A message sent through the app's send path (checks, numbering, cache, `newMessage`), once the
        reactions that follow its ack (read state) have run."""
        message = messages.send(author, MessageIn.model_validate(
            {"channelId": str(_id(channel)), "spans": [{"type": "PLAINTEXT", "text": text}], **body}))
        assert background.wait_soon()
        return message

    def dm(self, creator: User, *others: User, **body) -> DirectMessageGroup:
        """A conversation created through the app's service (rooms move, a 1:1 one is found again)."""
        out = direct_messages.create(creator, GroupCreateIn.model_validate(
            {"userIds": [str(_id(u)) for u in others], **body}))
        return DirectMessageGroup.objects(id=out["id"]).get()

    def direct_message(self, group, author, text: str = "seed") -> Message:
        """A stored direct message, numbered in its group (Message.save), without events or checks."""
        return Message(direct_message_group_id=_id(group), author_id=_id(author),
                       spans=[{"type": "PLAINTEXT", "text": text}]).save()

    def file(self, uploader: User, channel=None, content: bytes = PNG, filename: str = "a.png",
             mime: str = "image/png", resource_type: str = "MESSAGE_ATTACHMENT", resource_id=None) -> File:
        """An upload through the app's upload path: an attachment of `channel` by default."""
        if resource_id is None and resource_type == "MESSAGE_ATTACHMENT":
            resource_id = _id(channel)
        return files.upload(uploader, Upload(resource_type=resource_type,
                                             resource_id=str(resource_id) if resource_id is not None else None,
                                             filename=filename, declared_type=mime, stream=io.BytesIO(content)))

    # --- the shared community ---------------------------------------------------------------------

    def club(self) -> "Club":
        """Club and its cast (see the module's docstring), with a session token for each principal."""
        people = {"owner": self.owner("owner")}
        people.update({name: self.user(name) for name in PEOPLE if name != "owner"})
        community = self.community(people["admin"], "Club")
        elsewhere = self.community(people["outsider"], "Elsewhere")
        for name in ("mod", "member", "pcmember", "nopc", "removed", "target"):
            self.member(people[name], community)
        self.assign(people["mod"], self.default_role(community, MODERATOR))
        private = self.channel(community, people["admin"], "secret", private=True, members=[people["pcmember"]])
        victim = self.channel(community, people["admin"], "victim")
        self.remove_member(people["removed"], community)
        helper = self.role(community, "Helper", ["READ_COMMUNITY"], by=people["owner"])
        instance_admin = self.instance_role(INSTANCE_ADMIN)
        self.assign(people["target"], instance_admin)
        club = Club(factory=self, people=people, doc=community, elsewhere=elsewhere,
                    general=self.default_channel(community), voice=self.default_channel(community, "VOICE"),
                    private=private, victim=victim, elsewhere_general=self.default_channel(elsewhere),
                    roles={name: self.default_role(community, name) for name in (COMMUNITY_ADMIN, MODERATOR, MEMBER)}
                    | {"Helper": helper, INSTANCE_ADMIN: instance_admin},
                    community_invite=self.invite(created_by=people["admin"].id, community_ids=[community.id],
                                                 scope="COMMUNITY"),
                    instance_invite=self.invite(created_by=people["owner"].id),
                    dm=self.dm(people["member"], people["pcmember"]),
                    dm_group=self.dm(people["admin"], people["member"], people["pcmember"], name="trio"))
        club.tokens = {name: self.token(people[name]) for name in PRINCIPALS}
        return club


@dataclass
class Club:
    """The community "Club" and everyone around it (tests/factories.py's docstring names the cast).

    `club.admin`, `club.pcmember`, ... are the users; `club.tokens[name]` their access tokens;
    `club.ids` the ids the permission matrices' path templates use ({C}, {P}, {admin}, ...)."""

    factory: Factory
    people: dict[str, User]
    doc: Community                 # "Club", created by admin
    elsewhere: Community           # "Elsewhere", created by outsider
    general: Channel               # Club's `general` (TEXT), made with it
    voice: Channel                 # Club's `General` (VOICE), made with it
    private: Channel               # "secret": private, admin (creator) and pcmember
    victim: Channel                # "victim": public, something to delete
    elsewhere_general: Channel     # Elsewhere's `general`
    roles: dict[str, Role]         # Club's Community Admin, Moderator, Member, Helper (custom); Instance Admin
    community_invite: Invite       # admin's invite into Club
    instance_invite: Invite        # the owner's registration invite
    dm: DirectMessageGroup | None = None        # member and pcmember, 1:1
    dm_group: DirectMessageGroup | None = None  # admin, member, pcmember: a group conversation
    messages: dict[str, Message] = field(default_factory=dict)  # after seed_messages(): "general", "private", "dm"
    tokens: dict[str, str] = field(default_factory=dict)
    snapshot: dict[str, list] = field(default_factory=dict)
    alias_group: AliasGroup | None = None  # after seed_alias_group(): "crew" (member, mod)
    extra_ids: dict[str, str] = field(default_factory=dict)  # more path template values a test module seeds

    def __getattr__(self, name: str) -> User:
        people = self.__dict__.get("people", {})
        if name in people:
            return people[name]
        raise AttributeError(name)

    @property
    def id(self) -> ObjectId:
        return self.doc.id

    def seed_messages(self) -> "Club":
        """One message in `general` (by member) and one in `private` (by pcmember): {MG}, {MP}."""
        self.messages = {"general": self.factory.message(self.general, self.member),
                         "private": self.factory.message(self.private, self.pcmember),
                         "dm": self.factory.direct_message(self.dm_group, self.member)}
        return self

    def seed_alias_group(self) -> "Club":
        """An alias group "crew" of member and mod: {AG}."""
        self.alias_group = self.factory.alias_group(self.doc, "crew", [self.member, self.mod])
        return self

    @property
    def ids(self) -> dict[str, str]:
        """Path template values: C (Club), D (Elsewhere), G/P/V/VOICE (channels), R (Helper),
        MR (Member role), IA (Instance Admin), CI/II (invite codes), MG/MP/MD (seeded messages; MD in dm_group), DM/DMG (conversations), and
        every person's id by name."""
        ids = {"C": str(self.doc.id), "D": str(self.elsewhere.id), "P": str(self.private.id),
               "G": str(self.general.id), "V": str(self.victim.id), "VOICE": str(self.voice.id),
               "R": str(self.roles["Helper"].id), "MR": str(self.roles[MEMBER].id),
               "IA": str(self.roles[INSTANCE_ADMIN].id), "CI": self.community_invite.code,
               "II": self.instance_invite.code, **{name: str(u.id) for name, u in self.people.items()}}
        if self.dm is not None:
            ids.update(DM=str(self.dm.id), DMG=str(self.dm_group.id))
        if self.alias_group is not None:
            ids.update(AG=str(self.alias_group.id))
        if self.messages:
            ids.update(MG=str(self.messages["general"].id), MP=str(self.messages["private"].id))
            if "dm" in self.messages:
                ids.update(MD=str(self.messages["dm"].id))
        return {**ids, **self.extra_ids}

    def fill(self, template: str) -> str:
        return template.format(**self.ids)

    def api(self, name: str | None) -> ApiClient:
        """A test client with `name`'s token (anonymous for None)."""
        return ApiClient(self.factory.app.test_client(), self.tokens[name] if name else None)

    def freeze(self) -> "Club":
        """Remember the whole database as it is now (restore() goes back to it)."""
        self.snapshot = dump()
        return self

    def restore(self) -> None:
        restore(self.snapshot)


def settle(timeout: float = 10.0) -> None:
    """Finish here the background work the sends so far left (search indexing, the authors' own read
    marks), waiting for a background round of this process that holds a conversation: afterwards the
    process's background tasks find nothing to write, so a dump taken now stays true."""
    deadline = time.monotonic() + timeout
    assert background.wait_soon(timeout), "reactions after an ack still running"
    while True:
        marked = [key.rpartition(":")[2] for key in redis.scan_iter("kraken:search:dirty:*")]
        indexed = search.catch_up_containers(marked) if marked else True
        read_state.write_own_marks()
        # a conversation left marked while no one holds it waits for a number never stored (a failed
        # send): catching it up again writes nothing
        idle = indexed or not any(redis.scan_iter("kraken:search:lock:*"))
        if idle and not redis.scard("kraken:ownmark:dirty"):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"background work still pending after {timeout} s: {marked}")


def dump() -> dict[str, list]:
    """Every document of every collection (but the migrations log), by collection, in _id order, once
    the background work of the sends so far is done (settle)."""
    settle()
    db = mongoengine.get_db()
    collections = {name: list(db[name].find().sort("_id", 1)) for name in sorted(db.list_collection_names())
                   if name != "migrations"}
    # an empty collection is no data (a clean-up query may create one): the same as a missing one
    return {name: docs for name, docs in collections.items() if docs}


def restore(snapshot: dict[str, list]) -> None:
    """Put the database back to `snapshot` (a dump()) and empty the Redis DB (after the background work
    of the last case: nothing of it is written after the restore)."""
    settle()
    db = mongoengine.get_db()
    for name in db.list_collection_names():
        if name != "migrations":
            db[name].delete_many({})
    for name, docs in snapshot.items():
        if docs:
            db[name].insert_many(docs)
    redis.flushdb()
    dependents.redo()  # as tests/conftest.py's wipe


def race(app, jobs, loops=()) -> None:
    """Run each of `jobs` in its own thread, in the app's context, while each of `loops` runs again and
    again in its own thread until every job is done; fail with any thread's exception."""
    errors, done = [], threading.Event()

    def run(fn, again):
        try:
            with app.app_context():
                fn()
                while again and not done.is_set():
                    fn()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(fn, False)) for fn in jobs]
    loopers = [threading.Thread(target=run, args=(fn, True)) for fn in loops]
    for t in loopers + workers:
        t.start()
    for t in workers:
        t.join()
    done.set()
    for t in loopers:
        t.join()
    assert not errors, errors

