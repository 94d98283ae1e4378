"""Shared bits of the deployment-file tests: paths and a small Dockerfile reader."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.live import ROOT

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
