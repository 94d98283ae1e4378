"""First-run setup (kraken-head-features §12.5; docs/decisions/0063-running-an-instance-from-the-client.md).

An instance needs setup while it has no user and no usable instance invite other than the setup invite
the server logs for headless installs (kraken.bootstrap). The wizard's `POST /api/onboarding/setup` and
that invite are two doors to the same first account, and each consumes the other:

- both take the setup invite's single use with the same conditional update (an invite redemption),
  so whichever is first wins and the other finds it used up;
- the OWNER itself is claimed by a unique insert (kraken.users.service.claim_owner) before it exists,
  so of 20 concurrent setups exactly one continues.

There are no transactions: every step that succeeded is undone, newest first, when a later one fails.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from typing import Callable

from bson import ObjectId
from mongoengine import NotUniqueError

from kraken.channels import service as channels
from kraken.channels.models import Channel
from kraken.communities import service as communities
from kraken.errors import ConflictError
from kraken.extensions import redis
from kraken.instance import service as instance
from kraken.instance.models import InstanceSettings
from kraken.invites.models import Invite
from kraken.messages import service as messages
from kraken.messages.schemas import MessageIn
from kraken.common.validation import validate
from kraken.rbac import INSTANCE_ADMIN
from kraken.roles import service as roles
from kraken.roles.models import Role, UserRole
from kraken.users import service as users
from kraken.users.models import SETUP_INVITE_MARKER, InstanceMarker, User

log = logging.getLogger("kraken.onboarding")
TOKEN_KEY = "onboarding:setup-token"
TOKEN_TTL_SECONDS = 900


def setup_invite_code() -> str | None:
    """The code of the setup invite the server logged (kraken.bootstrap), if any."""
    return InstanceMarker.objects(id=SETUP_INVITE_MARKER).scalar("value").first()


def _usable_invites_besides_setup() -> bool:
    setup_code = setup_invite_code()
    return any(code != setup_code and not disabled and (remaining is None or remaining > 0)
               for code, disabled, remaining in Invite.objects(scope="INSTANCE").scalar("code", "disabled", "remaining"))


def needs_setup() -> bool:
    return User.objects.only("id").first() is None and not _usable_invites_besides_setup()


def status() -> dict:
    """`needsSetup`, `hasUsers` and, while setup is needed, the setup token (kept 900 s in Redis and
    handed out again while it lives)."""
    has_users = User.objects.only("id").first() is not None
    needed = not has_users and not _usable_invites_besides_setup()
    out: dict = {"needsSetup": needed, "hasUsers": has_users}
    if needed:
        redis.set(TOKEN_KEY, str(uuid.uuid4()), nx=True, ex=TOKEN_TTL_SECONDS)
        out["setupToken"] = redis.get(TOKEN_KEY)
    return out


def _check_token(token: str) -> None:
    held = redis.get(TOKEN_KEY)
    if not held or not hmac.compare_digest(held.encode(), token.encode()):
        raise ConflictError("Invalid setup token", code="INVALID_SETUP_TOKEN")


def _no_longer_needed() -> ConflictError:
    return ConflictError("Instance setup is no longer needed", code="SETUP_DONE")


def _take_setup_invite() -> Callable[[], None] | None:
    """Use up the setup invite (the registration path's one use); returns its undo, None when there is no
    such invite. Raises ConflictError when it was used (the headless path won)."""
    code = setup_invite_code()
    invite = Invite.objects(code=code).first() if code else None
    if invite is None:
        return None
    taken = Invite.objects(id=invite.id, disabled=False, remaining__gt=0).update_one(
        dec__remaining=1, inc__uses=1, set__disabled=True)
    if not taken:
        raise _no_longer_needed()
    return lambda: Invite.objects(id=invite.id).update_one(inc__remaining=1, dec__uses=1, set__disabled=False)


def _settings_undo() -> Callable[[], None]:
    before = InstanceSettings.objects(id=instance.SETTINGS_ID).first()
    if before is None:
        return instance.forget_settings
    return lambda: instance.update_settings({"name": before.name, "description": before.description})


def _default_community(owner: User, name: str, description: str) -> tuple[ObjectId, Callable[[], None]]:
    community = communities.create(owner, name=name, description=description, avatar=None, banner=None)
    undo = lambda: communities.purge(community.id)  # noqa: E731
    try:
        voice = Channel.objects(community_id=community.id, type="VOICE").first()
        if voice is not None:
            channels.update(voice, {"name": "voice-chat"})
        channels.create(owner, community.id, name="announcements", type="TEXT", is_private=False, description=None)
        general = Channel.objects(community_id=community.id, name="general").first()
        _welcome(owner, general.id, name)
    except Exception:
        undo()
        raise
    return community.id, undo


def _welcome(owner: User, channel_id: ObjectId, community_name: str) -> None:
    text = f"Welcome to {community_name}! This is the start of the community."
    messages.send(owner, validate(MessageIn, {"channelId": str(channel_id),
                                              "spans": [{"type": "PLAINTEXT", "text": text}]}))


def setup(*, token: str, username: str, password: str, email: str | None, instance_name: str,
          instance_description: str | None, community_name: str | None, create_community: bool) -> dict:
    """Create the OWNER, store the instance's name and description, optionally a default community
    (channels, roles, a welcome message), give the owner Instance Admin and make a permanent welcome
    invite: all of it or nothing. Raises ConflictError (invalid token, setup no longer needed, name taken)."""
    if not needs_setup():
        raise _no_longer_needed()
    _check_token(token)
    undo: list[Callable[[], None]] = []
    owner_id = ObjectId()
    try:
        release = _take_setup_invite()
        if release is not None:
            undo.append(release)
        if not users.claim_owner(owner_id):
            raise _no_longer_needed()
        undo.append(lambda: users.release_owner(owner_id))
        owner = users.create_claimed_owner(owner_id, username, password, email)
        undo.append(lambda: users.delete_account(owner))
        undo.append(_settings_undo())
        instance.update_settings({"name": instance_name, "description": instance_description})
        roles.ensure_instance_roles()
        admin_role = Role.objects(community_id=None, name=INSTANCE_ADMIN).first()
        roles.give(owner.id, admin_role)
        undo.append(lambda: UserRole.objects(user_id=owner_id, role_id=admin_role.id).delete())
        community_id = None
        if create_community:
            community_id, drop = _default_community(
                owner, community_name or "General", instance_description or f"Welcome to {instance_name}!")
            undo.append(drop)
        welcome = _welcome_invite(owner.id, community_id)
        undo.append(welcome.delete)
    except Exception:
        log.warning("instance setup failed; undoing", extra={"steps": len(undo)})
        for step in reversed(undo):
            try:
                step()
            except Exception:  # keep undoing the rest
                log.exception("could not undo a setup step")
        raise
    redis.delete(TOKEN_KEY)
    log.info("instance set up", extra={"user_id": str(owner_id)})
    out = {"success": True, "message": "Instance setup completed successfully", "adminUserId": str(owner_id)}
    if community_id is not None:
        out["defaultCommunityId"] = str(community_id)
    return out


def _welcome_invite(owner_id: ObjectId, community_id: ObjectId | None) -> Invite:
    """A permanent instance invite `welcome-<8 hex>`: unlimited uses, no expiry, the default community."""
    for _ in range(5):
        try:
            return Invite(code=f"welcome-{secrets.token_hex(4)}", scope="INSTANCE", created_by_id=owner_id,
                          community_ids=[community_id] if community_id else []).save(force_insert=True)
        except NotUniqueError:
            continue
    raise RuntimeError("could not make a welcome invite code")
