"""Admin commands: `flask --app wsgi kraken <command>`; each calls a service."""
from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from kraken.common.ids import is_object_id
from kraken.common.time import utcnow, iso
from kraken.errors import KrakenError

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
    from kraken.common.validation import validate
    from kraken.users import service
    from kraken.users.schemas import RegisterIn
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
    from bson import ObjectId
    from kraken.invites import service
    bad = [c for c in communities if not is_object_id(c)]
    if bad:
        raise click.BadParameter(f"not community ids: {', '.join(bad)}", param_hint="--community")
    valid_until = utcnow() + timedelta(hours=valid_hours) if valid_hours else None
    invite = service.create_invite(created_by=None, max_uses=max_uses, valid_until=valid_until,
                                   community_ids=[ObjectId(c) for c in communities])
    click.echo(invite.code)
    click.echo(f"max uses: {max_uses or 'unlimited'}; valid until: {iso(valid_until) or 'never'}", err=True)


@kraken_cli.command("migrate")
def migrate() -> None:
    """Apply pending migration scripts (idempotent)."""
    from kraken.migrations import migrate as run
    applied = run(click.echo)
    click.echo(f"{len(applied)} migration(s) applied")
