"""Numbered, idempotent migration scripts (`migrations_scripts/NNNN_<what>.py`) tracked in `migrations`.

Each script has a docstring and `def up(db, log)`; applied ones are recorded so
`flask kraken migrate` runs only what is new, in order.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Callable

import mongoengine
from mongoengine import DateTimeField, Document, StringField

from kraken.common.time import utcnow

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "migrations_scripts"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.py$")


class Migration(Document):
    meta = {"collection": "migrations"}
    id = StringField(primary_key=True)  # the script's file name without .py
    applied_at = DateTimeField(default=utcnow, db_field="appliedAt")


def discover() -> list[Path]:
    return sorted(p for p in SCRIPTS_DIR.glob("*.py") if _NAME.match(p.name))


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"migrations_scripts.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(name: str):
    """The script `name` (e.g. "0002_message_timeline") as a module: its `up(db, echo)` (tests run one alone)."""
    return _load(SCRIPTS_DIR / f"{name}.py")


def pending() -> list[str]:
    """Names of the scripts not applied yet, in the order `migrate` would run them."""
    done = set(Migration.objects.scalar("id"))
    return [path.stem for path in discover() if path.stem not in done]


def migrate(echo: Callable[[str], None] = print) -> list[str]:
    """Apply every pending script in order; returns the names applied."""
    done = set(Migration.objects.scalar("id"))
    applied = []
    scripts = discover()
    for index, path in enumerate(scripts, 1):
        name = path.stem
        if name in done:
            echo(f"[{index}/{len(scripts)}] {name}: already applied")
            continue
        echo(f"[{index}/{len(scripts)}] {name}: applying ...")
        _load(path).up(mongoengine.get_db(), echo)
        Migration(id=name).save()
        applied.append(name)
        echo(f"[{index}/{len(scripts)}] {name}: done")
    return applied
