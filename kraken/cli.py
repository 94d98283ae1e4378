"""Admin commands: `flask --app wsgi kraken <command>`; each calls a service.

create-owner, create-invite, list-invites, disable-user, grant-instance-role, migrate, check, storage-to-s3.
"""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import click
import mongoengine
from bson import ObjectId
from flask.cli import AppGroup

from kraken import extensions
from kraken.common.ids import is_object_id
from kraken.common.time import iso, utcnow
from kraken.common.validation import validate
from kraken.config import known_secret_problems
from kraken.errors import KrakenError
from kraken.files.models import File
from kraken.files.storage import LocalDiskStorage, S3Storage, copy_to_bucket, storage_for
from kraken.extensions import redis
from kraken.invites import service as invites
from kraken.invites.schemas import InviteOut
from kraken.livekit.rooms import ping
from kraken.migrations import migrate as run, pending
from kraken.roles import service as roles
from kraken.users import service, service as users
from kraken.users.schemas import RegisterIn

kraken_cli = AppGroup("kraken", help="Kraken administration.")


def _fail(exc: KrakenError) -> None:
    message = exc.message if isinstance(exc.message, str) else "; ".join(exc.message)
    raise click.ClickException(message)


@kraken_cli.command("create-owner")
@click.argument("username")
@click.option("--email", default=None, help="Optional e-mail address.")
@click.password_option(help="Prompted for when not given (or read from KRAKEN_OWNER_PASSWORD).",
                       envvar="KRAKEN_OWNER_PASSWORD")
def create_owner(username: str, email: str | None, password: str) -> None:
    """Create the instance OWNER account."""
    try:
        body = validate(RegisterIn, {"username": username, "password": password, "email": email})
        user = service.create_owner(body.username, body.password, body.email)
    except KrakenError as exc:
        _fail(exc)
    click.echo(f"owner {user.username} created (id {user.id})")


@kraken_cli.command("create-invite")
@click.option("--max-uses", type=click.IntRange(min=1), default=None, help="Unlimited when omitted.")
@click.option("--valid-hours", type=click.IntRange(min=1), default=None, help="Never expires when omitted.")
@click.option("--community", "communities", multiple=True, help="Community id to join on registration.")
def create_invite(max_uses: int | None, valid_hours: int | None, communities: tuple[str, ...]) -> None:
    """Create an instance invite and print its code."""
    bad = [c for c in communities if not is_object_id(c)]
    if bad:
        raise click.BadParameter(f"not community ids: {', '.join(bad)}", param_hint="--community")
    valid_until = utcnow() + timedelta(hours=valid_hours) if valid_hours else None
    invite = invites.create_invite(created_by=None, max_uses=max_uses, valid_until=valid_until,
                                  community_ids=[ObjectId(c) for c in communities])
    click.echo(invite.code)
    click.echo(f"max uses: {max_uses or 'unlimited'}; valid until: {iso(valid_until) or 'never'}", err=True)


@kraken_cli.command("storage-to-s3")
@click.option("--from-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="the local uploads folder (default: KRAKEN_UPLOAD_DIR)")
def storage_to_s3(from_dir: Path | None) -> None:
    """Copy the local uploads into the S3 bucket of KRAKEN_STORAGE=s3 (idempotent, resumable)."""
    settings = extensions.settings()
    bucket = storage_for(settings)
    if not isinstance(bucket, S3Storage):
        raise click.ClickException("set KRAKEN_STORAGE=s3 and KRAKEN_S3_BUCKET (and its endpoint and keys) first")
    local = LocalDiskStorage(from_dir or settings.resolved_upload_dir)
    records = File._get_collection().find({}, {"storageKey": 1, "size": 1}).sort("_id", 1)
    click.echo(f"copying {local.root} into s3://{bucket.bucket}")
    counts = copy_to_bucket(((r["storageKey"], r["size"]) for r in records), local, bucket, click.echo)
    click.echo(f"done: {counts['copied']} copied, {counts['present']} already there, "
               f"{counts['missing']} missing on the local disk")
    if counts["missing"]:
        raise SystemExit(1)


@kraken_cli.command("migrate")
def migrate() -> None:
    """Apply pending migration scripts (idempotent)."""
    applied = run(click.echo)
    click.echo(f"{len(applied)} migration(s) applied")


@kraken_cli.command("list-invites")
@click.option("--community", default=None, help="List this community's invites instead of the instance's.")
def list_invites(community: str | None) -> None:
    """Print the instance invites (or one community's) as a table."""
    if community is not None and not is_object_id(community):
        raise click.BadParameter(f"not a community id: {community}", param_hint="--community")
    found = invites.list_community_invites(community) if community else invites.list_instance_invites()
    rows = [InviteOut.of(i) for i in found]
    if not rows:
        click.echo("no invites")
        return
    click.echo(f"{'CODE':<20} {'SCOPE':<9} {'USES':>9}  {'VALID UNTIL':<24}  DISABLED")
    for row in rows:
        uses = f"{row['uses']}/{row['maxUses'] or '-'}"
        click.echo(f"{row['code']:<20} {row['scope']:<9} {uses:>9}  {row['validUntil'] or 'never':<24}  "
                   f"{'yes' if row['disabled'] else 'no'}")


@kraken_cli.command("disable-user")
@click.argument("username")
def disable_user(username: str) -> None:
    """Disable an account and end its sessions (the owner cannot be disabled)."""
    try:
        user = service.set_disabled(str(service.get_by_username(username).id), True)
    except KrakenError as exc:
        _fail(exc)
    click.echo(f"user {user.username} disabled; their sessions are revoked")


@kraken_cli.command("grant-instance-role")
@click.argument("username")
@click.option("--role", "role_name", default="Instance Admin", show_default=True, help="Instance role name.")
def grant_instance_role(username: str, role_name: str) -> None:
    """Give a user an instance-wide role."""
    try:
        user = users.get_by_username(username)
        roles.ensure_instance_roles()
        by_name = {role.name: role for role in roles.instance_roles()}
        if role_name not in by_name:
            raise click.ClickException(f"no instance role {role_name!r}; there are: {', '.join(sorted(by_name))}")
        roles.assign_instance(str(by_name[role_name].id), str(user.id))
    except KrakenError as exc:
        _fail(exc)
    click.echo(f"{user.username} now has the instance role {role_name!r}")


@kraken_cli.command("check")
def check() -> None:
    """Check the configuration and every dependency; exits 1 when anything FAILs."""
    settings = extensions.settings()
    results = [("settings", True, f"env={settings.env}, MONGODB_URL={_redact(settings.mongodb_url)}, "
                                  f"REDIS_URL={_redact(settings.redis_url)}"), ("secrets", *_check_secrets(settings))]
    for name, probe in (("database", _check_database), ("redis", _check_redis), ("livekit", _check_livekit),
                        ("uploads", lambda: _check_upload_dir(settings)), ("migrations", _check_migrations)):
        try:
            results.append((name, *probe()))
        except Exception as exc:  # a probe that breaks is a failed check, with its reason
            results.append((name, False, _reason(exc)))
    for name, ok, detail in results:
        click.echo(f"{'OK' if ok else 'FAIL':<5} {name:<11} {detail}")
    failed = [name for name, ok, _ in results if not ok]
    if failed:
        click.echo(f"{len(failed)} check(s) failed: {', '.join(failed)}", err=True)
        raise SystemExit(1)
    click.echo("all checks passed")


def _check_secrets(settings) -> tuple[bool, str]:
    """Production refuses to start on known or weak secrets (kraken.config); elsewhere they are named
    so an operator sees what to replace before going to production."""
    problems = known_secret_problems(settings)
    if not problems:
        return True, "no known or weak secrets"
    if settings.production:
        return False, "; ".join(problems)
    return True, f"{settings.env} values; production would refuse: " + "; ".join(problems)


def _redact(url: str) -> str:
    return re.sub(r"(//[^:/@]*:)[^@/]+@", r"\1***@", url)


def _reason(exc: Exception) -> str:
    """The first, useful part of a driver's error (pymongo's runs on with its topology)."""
    text = str(exc).split(", Timeout:")[0].split(" (configured timeouts")[0].strip()
    return f"{type(exc).__name__}: {text[:300]}"


def _check_database() -> tuple[bool, str]:
    db = mongoengine.get_db()
    db.command("ping")
    return True, f"database {db.name!r} answers ping"


def _check_redis() -> tuple[bool, str]:
    redis.ping()
    tracked = redis.tracked
    if tracked.wait_live(2.0):
        return True, "answers PING; client tracking on (requests check revocations in per-process copies)"
    return True, (f"answers PING; client tracking unavailable ({tracked.refused or 'no answer within 2 s'}): "
                  "every request reads Redis")


def _check_livekit() -> tuple[bool, str]:
    settings = extensions.settings()
    alive = ping()
    if alive is None:
        return True, "not configured: voice is off"
    url = settings.livekit_api_url
    return (True, f"{url} answers its API") if alive else (False, f"no answer from LiveKit's API at {url}")


def _check_upload_dir(settings) -> tuple[bool, str]:
    directory = settings.resolved_upload_dir
    directory.mkdir(parents=True, exist_ok=True)
    probe = directory / f".kraken-check-{os.getpid()}"
    probe.write_bytes(b"ok")
    probe.unlink()
    return True, f"{directory} is writable"


def _check_migrations() -> tuple[bool, str]:
    waiting = pending()
    if waiting:
        return False, f"pending: {', '.join(waiting)} (run `flask --app wsgi kraken migrate`)"
    return True, "none pending"
