"""A small community world for permission tests, built once and restored before each case."""
from __future__ import annotations

from dataclasses import dataclass, field

import mongoengine
from bson import ObjectId

from kraken.auth.service import start_session
from kraken.channel_memberships import service as channel_memberships
from kraken.channels import service as channels
from kraken.communities import service as communities
from kraken.extensions import redis
from kraken.invites import service as invites
from kraken.memberships import service as memberships
from kraken.rbac import MODERATOR, INSTANCE_ADMIN
from kraken.roles import service as roles
from kraken.roles.models import Role

PRINCIPALS = ("owner", "admin", "mod", "member", "pcmember", "nopc", "removed", "outsider", "anon")


@dataclass
class World:
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    snapshot: dict[str, list] = field(default_factory=dict)

    def fill(self, template: str) -> str:
        return template.format(**self.ids)


def build(factory) -> World:
    w = World()
    owner = factory.owner("owner")
    users = {name: factory.user(name) for name in
             ("admin", "mod", "member", "pcmember", "nopc", "removed", "outsider", "target", "stranger")}
    community = communities.create(users["admin"], name="Club", description=None, avatar=None, banner=None)
    elsewhere = communities.create(users["outsider"], name="Elsewhere", description=None, avatar=None, banner=None)
    for name in ("mod", "member", "pcmember", "nopc", "removed", "target"):
        memberships.join(users[name].id, community.id)
    roles.give(users["mod"].id, Role.objects(community_id=community.id, name=MODERATOR).first())
    private = channels.create(users["admin"], community.id, name="secret", type="TEXT", is_private=True,
                              description=None)
    channel_memberships.give(private, users["pcmember"].id)
    victim = channels.create(users["admin"], community.id, name="victim", type="TEXT", is_private=False,
                             description=None)
    memberships.remove(community.id, users["removed"].id)
    custom = roles.create_role(owner, None, community.id, "Helper", ["READ_COMMUNITY"])
    roles.ensure_instance_roles()
    instance_admin = Role.objects(community_id=None, name=INSTANCE_ADMIN).first()
    roles.give(users["target"].id, instance_admin)
    community_invite = invites.create_invite(created_by=users["admin"].id, community_ids=[community.id],
                                             scope="COMMUNITY")
    instance_invite = invites.create_invite(created_by=owner.id)
    general = channels.visible_channels(community.id, _all_seeing())[0]
    from kraken.messages.models import Message
    spans = [{"type": "PLAINTEXT", "text": "seed"}]
    general_message = Message(channel_id=general.id, author_id=users["member"].id, spans=spans).save()
    private_message = Message(channel_id=private.id, author_id=users["pcmember"].id, spans=spans).save()
    member_role = Role.objects(community_id=community.id, name="Member").first()

    w.ids = {"C": str(community.id), "D": str(elsewhere.id), "P": str(private.id), "G": str(general.id),
             "V": str(victim.id), "R": str(custom.id), "MR": str(member_role.id), "IA": str(instance_admin.id),
             "CI": community_invite.code, "MG": str(general_message.id), "MP": str(private_message.id), "II": instance_invite.code,
             **{name: str(u.id) for name, u in users.items()}, "owner": str(owner.id)}
    for name in PRINCIPALS:
        if name != "anon":
            user = owner if name == "owner" else users[name]
            w.tokens[name] = start_session(user).access_token
    w.snapshot = dump()
    return w


def _all_seeing():
    from kraken.rbac import ALL_ACTIONS, Grant
    return Grant(owner=True, member=True, actions=ALL_ACTIONS)


def dump() -> dict[str, list]:
    db = mongoengine.get_db()
    collections = {name: list(db[name].find().sort("_id", 1)) for name in sorted(db.list_collection_names())
                   if name != "migrations"}
    # an empty collection is no data (a clean-up query may create one): the same as a missing one
    return {name: docs for name, docs in collections.items() if docs}


def restore(snapshot: dict[str, list]) -> None:
    db = mongoengine.get_db()
    for name in db.list_collection_names():
        if name != "migrations":
            db[name].delete_many({})
    for name, docs in snapshot.items():
        if docs:
            db[name].insert_many(docs)
    redis.flushdb()


__all__ = ["World", "build", "dump", "restore", "PRINCIPALS", "ObjectId"]
