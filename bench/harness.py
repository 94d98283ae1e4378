"""Processes the bench runs and measures: servers (Kraken, B0/B1, B2), the Node load generator, wrk.

Everything binds 127.0.0.1 and is stopped by the bench itself (`stop()` / `close()` in a finally).
CPU and RSS are read from /proc of the process that serves the sockets (gunicorn's worker).
"""
from __future__ import annotations

import json
import os
import queue
import re
import resource
import signal
import subprocess
import threading
import time
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NODE_DIR = BENCH / "node"
VENV_BIN = ROOT / ".venv" / "bin"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit; children (servers, Node) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, in seconds (10 ms resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Server:
    """A server process on a fixed loopback port; `worker_pid` is the process that serves sockets."""

    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str], health: str,
                 port: int | None = None, log_dir: Path = Path("/tmp")):
        self.name, self.argv, self.cwd, self.health = name, argv, cwd, health
        self.port = port or free_port()
        self.env = {**os.environ, **env, "PORT": str(self.port), "KRAKEN_BIND_HOST": "127.0.0.1"}
        self.log_path = log_dir / f"kraken-bench-{name}-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.ready_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "Server":
        self.log = open(self.log_path, "a")
        self.started_at = time.monotonic()
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        self.proc = subprocess.Popen(argv, cwd=self.cwd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-1500:]}")
            try:
                if requests.get(self.url + self.health, timeout=1).status_code == 200:
                    self.ready_seconds = time.monotonic() - self.started_at
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s: {self.log_path.read_text()[-1500:]}")

    @property
    def worker_pid(self) -> int:
        kids = children(self.proc.pid)
        return kids[0] if kids else self.proc.pid  # gunicorn: its worker; node: itself

    def stop(self, timeout: float = 30) -> float:
        """SIGTERM and wait; returns the seconds until the process (group) exited."""
        if not self.proc or self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.log.close()
        return time.monotonic() - started


def kraken_server(env: dict[str, str], port: int | None = None, name: str = "kraken") -> Server:
    return Server(name, [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], ROOT, env,
                  "/api/health/live", port)


def baseline_server(app: str, env: dict[str, str] | None = None, name: str | None = None,
                    port: int | None = None) -> Server:
    """`b0` (python-socketio) or `b1` (Flask JSON) under the same gunicorn worker setup as Kraken."""
    return Server(name or app, [str(VENV_BIN / "gunicorn"), "-c", "gunicorn_baseline.py", f"baseline_wsgi:{app}"],
                  BENCH, env or {}, "/health", port)


def node_server() -> Server:
    """B2: bare Node socket.io 4."""
    return Server("b2", ["node", "b2_server.mjs", "{port}"], NODE_DIR, {}, "/health")


class Loadgen:
    """The Node load generator (bench/node/loadgen.mjs): one JSON command in, one JSON reply out."""

    def __init__(self, name: str = "loadgen"):
        self.proc = subprocess.Popen(["node", "--max-old-space-size=4096", "loadgen.mjs"], cwd=NODE_DIR,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(f"/tmp/kraken-bench-{name}.log", "a"), text=True, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, cmd: str, **args) -> None:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()

    def wait(self, key: str = "reply", timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"load generator: no {key} within {timeout}s")
            try:
                msg = json.loads(self.lines.get(timeout=left))
            except queue.Empty:
                continue
            if key in msg:
                if msg.get("error"):
                    raise RuntimeError(f"load generator: {msg['error']}")
                return msg

    def call(self, cmd: str, timeout: float = 120, **args) -> dict:
        self.send(cmd, **args)
        return self.wait(timeout=timeout)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("close")
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait(5)


class CpuMeter:
    """CPU seconds used by some processes inside a `with` block (`used[name]`; `wall` seconds)."""

    def __init__(self, **pids: int):
        self.pids = pids
        self.used: dict[str, float] = {}

    @staticmethod
    def _read(pid: int) -> float | None:
        try:
            return cpu_seconds(pid)
        except (OSError, ValueError, IndexError):
            return None

    def __enter__(self) -> "CpuMeter":
        self.wall = time.monotonic()
        self.before = {k: self._read(p) for k, p in self.pids.items()}
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.monotonic() - self.wall
        for k, p in self.pids.items():
            after = self._read(p)
            if after is not None and self.before[k] is not None:
                self.used[k] = after - self.before[k]


def db_pids() -> dict[str, int]:
    """FerretDB's and Redis's pids from `make services` (shared: their CPU is informational)."""
    found = {}
    for name in ("ferretdb", "redis"):
        try:
            pid = int((ROOT / ".data/services" / f"{name}.pid").read_text().strip())
            cpu_seconds(pid)
            found[name] = pid
        except (OSError, ValueError):
            pass
    return found


def ensure_tools() -> None:
    """`npm ci` in bench/node when needed and wrk from Debian when missing (bench/install.sh, idempotent)."""
    subprocess.run(["bash", str(BENCH / "install.sh")], check=True)


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _WRK_UNITS[unit]


def wrk(url: str, seconds: float, connections: int = 20, headers: dict[str, str] | None = None,
        timeout_s: float = 10) -> dict:
    """Fixed-concurrency HTTP load with wrk (1 thread: the machine has 2 cores); latency in ms."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, timeout=seconds + timeout_s + 30).stdout
    result = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
              "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = round(_ms(m.group(1)), 2) if m else None
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["non_2xx"] = int(bad.group(1)) if bad else 0
    result["socket_errors"] = sum(map(int, errors.groups())) if errors else 0
    return result
