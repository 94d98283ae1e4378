"""Helpers for tests that run real processes: private services via scripts/services.sh, gunicorn."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateServices:
    """A FerretDB and/or Redis of the test's own, on free ports, so stopping them hurts no one else."""

    def __init__(self, workdir: Path, services: str = "ferretdb redis", handler: str = "postgresql"):
        self.dir = workdir
        self.handler = handler  # FerretDB's backend: postgresql (the default store) or sqlite (the old one)
        # FerretDB stores in a PostgreSQL of its own (stopping FerretDB alone leaves it running)
        self.services = f"postgres {services}" if "ferretdb" in services.split() else services
        self.ferretdb_port = free_port()
        self.redis_port = free_port()
        self.postgres_port = free_port()

    def _run(self, action: str, services: str | None = None) -> None:
        env = {**os.environ, "KRAKEN_SERVICES": services or self.services,
               "KRAKEN_SERVICES_DIR": str(self.dir), "KRAKEN_FERRETDB_PORT": str(self.ferretdb_port),
               "KRAKEN_REDIS_PORT": str(self.redis_port), "KRAKEN_POSTGRES_PORT": str(self.postgres_port),
               "KRAKEN_POSTGRES_EPHEMERAL": "1", "KRAKEN_FERRETDB_HANDLER": self.handler}
        subprocess.run([str(ROOT / "scripts/services.sh"), action], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def start(self, services: str | None = None) -> None:
        self._run("start", services)

    def stop(self, services: str | None = None) -> None:
        self._run("stop", services)

    @property
    def mongodb_url(self) -> str:
        return f"mongodb://127.0.0.1:{self.ferretdb_port}/kraken"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"


class LiveServer:
    """`gunicorn -c gunicorn.conf.py wsgi:app` as `make run` starts it, with the given environment."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.env = {**os.environ, "PORT": str(self.port), "KRAKEN_BIND_HOST": "127.0.0.1", **env}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> "LiveServer":
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                                     cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/api/health/live", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc:
            self.log.close()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def flask_cli(self, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "kraken", *args], cwd=ROOT,
                              env={**self.env, **(extra_env or {})}, capture_output=True, text=True, timeout=60)


def wait_for(predicate, timeout: float = 10, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
