"""Shared bits of the ops tests: paths, a small Dockerfile reader, the admin CLI as a subprocess."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from tests.live import ROOT, VENV_BIN
from tests.redis_dbs import claim

DOCKER = ROOT / "docker"


def dockerfile_instructions(path: Path = DOCKER / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with `\\` continuations joined and comments dropped."""
    instructions, current = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, args = current.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    return instructions


def healthcheck_command() -> str:
    """The shell-form command of the Dockerfile's HEALTHCHECK (Docker runs it with /bin/sh -c)."""
    [args] = [a for k, a in dockerfile_instructions() if k == "HEALTHCHECK"]
    match = re.search(r"\bCMD\s+(.*)$", args)
    assert match, args
    return match.group(1)


def dockerfile_env() -> dict[str, str]:
    """The image's ENV settings (values without $-expansion)."""
    pairs = [w.split("=", 1) for k, a in dockerfile_instructions() if k == "ENV" for w in shlex.split(a)]
    return dict(pairs)


def cli_env(tmp_dir: Path, mongodb_url: str, **extra: str) -> dict[str, str]:
    """The environment of an admin-CLI subprocess: a database of the test's own, a Redis DB number
    other than the test session's, development secrets in `tmp_dir`."""
    redis_db = claim("admin cli")
    return {**os.environ, "KRAKEN_ENV": "test", "MONGODB_URL": mongodb_url,
            "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}", "KRAKEN_DATA_DIR": str(tmp_dir),
            "KRAKEN_LOG_LEVEL": "WARNING", **extra}


def kraken_cli(env: dict[str, str], *args: str, stdin: str | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess:
    """`flask --app wsgi kraken ARGS` as an operator runs it, from the repository root."""
    return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "kraken", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=timeout)
