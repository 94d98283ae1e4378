"""docker/Dockerfile, read statically (no Docker engine here; the HEALTHCHECK command
itself is run against a real server in test_entrypoint.py)."""
from __future__ import annotations

import os
import re
import shlex

from tests.live import ROOT
from tests.ops.helpers import DOCKER, dockerfile_instructions, healthcheck_command

INSTRUCTIONS = dockerfile_instructions()


def _args(keyword: str) -> list[str]:
    return [args for k, args in INSTRUCTIONS if k == keyword]


def test_base_images_are_pinned_python_311_slim():
    images = [args.split()[0] for args in _args("FROM")]
    assert len(images) == 2, "a build stage and a runtime stage"
    for image in images:
        # a full patch version, not a moving tag such as 3.11-slim or latest
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image), image
    assert images[0] == images[1], "the venv is copied between stages, so both need the same Python"


def test_copies_only_the_server_and_every_source_exists():
    ignored = {line.strip() for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    sources = []
    for args in _args("COPY"):
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        if "--from=" in args:
            continue
        sources += [w.rstrip("/") for w in words[:-1]]
    assert set(sources) >= {"wsgi.py", "gunicorn.conf.py", "kraken", "migrations_scripts",
                            "docker/entrypoint.sh", "requirements.txt"}
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert source not in ignored, f"COPY {source}: excluded by Dockerfile.dockerignore"
    assert not {"tests", "bench", ".venv", ".data", "docker/.env"} & set(sources)


def test_requirements_are_pinned():
    lines = [l.strip() for l in (ROOT / "requirements.txt").read_text().splitlines()
             if l.strip() and not l.lstrip().startswith("#")]
    assert lines
    unpinned = [l for l in lines if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][^\s;]*", l)]
    assert not unpinned, f"unpinned runtime requirements: {unpinned}"
    assert any("pip install -r /tmp/requirements.txt" in a and "/opt/venv" in a for a in _args("RUN"))


def test_runs_unprivileged_on_port_3000_with_healthcheck_and_entrypoint():
    users = _args("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    # USER comes after every RUN, so nothing at run time has root
    keywords = [k for k, _ in INSTRUCTIONS]
    assert max(i for i, k in enumerate(keywords) if k == "RUN") < keywords.index("USER")
    assert _args("EXPOSE") == ["3000"]
    assert "/api/health/live" in healthcheck_command()
    [workdir] = _args("WORKDIR")
    [entrypoint] = _args("ENTRYPOINT")
    assert entrypoint == f'["{workdir}/docker/entrypoint.sh"]'
    assert any(a.startswith("--chmod=0755 docker/entrypoint.sh") for a in _args("COPY"))
    # defaults that make a bare `docker run` safe: production mode refuses placeholder secrets
    env = " ".join(_args("ENV"))
    assert "KRAKEN_ENV=production" in env and "PATH=/opt/venv/bin:$PATH" in env


def test_entrypoint_script_is_posix_sh_and_executable():
    script = DOCKER / "entrypoint.sh"
    assert os.access(script, os.X_OK)
    assert script.read_text().startswith("#!/bin/sh\n")
