"""py-spy profiles of a server process during a workload, and their summary.

`Profile(pid, seconds, out)` runs `py-spy record --format raw --nonblocking` (collapsed stacks)
beside the workload; `summarize(path)` turns the stacks into: the hottest path (heaviest child at
each level, top-down), the functions with the most self time, the most inclusive time, and self
time grouped by library. Raw profiles are written under bench/results/profiles/ (git-ignored).
py-spy needs ptrace (CAP_SYS_PTRACE or ptrace_scope 0); without it the summary says why.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

from harness import VENV_BIN

# self time is grouped by the leaf frame's top-level package (py-spy prints paths from there)
PACKAGES = {
    "json": "json encode/decode", "pythonjsonlogger": "logging", "logging": "logging",
    "geventwebsocket": "websocket I/O (gevent-websocket)", "engineio": "engineio sockets/queues",
    "socketio": "socketio server/manager", "flask_socketio": "socketio server/manager",
    "redis": "redis client", "limits": "rate limits", "pymongo": "pymongo/bson", "bson": "pymongo/bson",
    "mongoengine": "mongoengine", "pydantic": "pydantic", "pydantic_core": "pydantic", "jwt": "jwt",
    "flask_jwt_extended": "jwt", "argon2": "argon2", "flask": "flask/werkzeug", "werkzeug": "flask/werkzeug",
    "flask_cors": "flask/werkzeug", "flask_limiter": "flask/werkzeug", "kraken": "kraken",
    "gevent": "gevent hub/sockets", "greenlet": "gevent hub/sockets", "socket.py": "gevent hub/sockets",
    "ssl.py": "gevent hub/sockets", "selectors.py": "gevent hub/sockets", "threading.py": "gevent hub/sockets",
}
PACKET_FILES = ("socketio/packet.py", "engineio/packet.py")
_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


class Profile:
    def __init__(self, pid: int, seconds: float, out: Path, rate: int = 200):
        self.out = out
        self.error = None
        spy = VENV_BIN / "py-spy"
        if not spy.exists() and not shutil.which("py-spy"):
            self.proc, self.error = None, "py-spy not installed"
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(spy if spy.exists() else "py-spy"), "record", "--pid", str(pid), "--duration", str(int(seconds)),
             "--rate", str(rate), "--format", "raw", "--nonblocking", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def finish(self, top: int = 15) -> dict:
        if self.proc is None:
            return {"error": self.error}
        try:
            _, err = self.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return {"error": "py-spy did not finish"}
        if not self.out.exists():
            return {"error": f"py-spy failed: {err.strip()[-300:]}"}
        return {"raw": str(self.out), **summarize(self.out, top)}


def short(frame: str) -> str:
    """`fn (path/to/site-packages/pkg/mod.py:12)` -> `fn (pkg/mod.py)`."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m.group('fn')} ({path})"


def category(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    path = m.group("file") if m else frame
    if path.endswith(PACKET_FILES):
        return "socketio/engineio packet encoding"
    return PACKAGES.get(path.split("/", 1)[0], "other (stdlib, C calls)")


def _stacks(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        body, _, count = line.rpartition(" ")
        if not body or not count.isdigit():
            continue
        frames = [f for f in body.split(";") if f and not f.startswith(("process ", "thread "))]
        if frames:
            stacks.append((frames, int(count)))
    return stacks


def summarize(path: Path, top: int = 15) -> dict:
    stacks = _stacks(path)
    total = sum(c for _, c in stacks) or 1
    self_time: Counter = Counter()
    inclusive: Counter = Counter()
    categories: Counter = Counter()
    children: dict[tuple, Counter] = defaultdict(Counter)
    for frames, count in stacks:
        names = [short(f) for f in frames]
        self_time[names[-1]] += count
        categories[category(frames[-1])] += count
        for name in set(names):
            inclusive[name] += count
        for depth in range(len(names)):
            children[tuple(names[:depth])][names[depth]] += count
    hot, prefix = [], ()
    while children.get(prefix) and len(hot) < 60:
        name, count = children[prefix].most_common(1)[0]
        hot.append((name, round(100 * count / total, 1)))
        prefix = prefix + (name,)
    pct = lambda items: [(k, round(100 * v / total, 1)) for k, v in items]  # noqa: E731
    return {"samples": total, "hot_path": _significant(hot, top), "self": pct(self_time.most_common(top)),
            "inclusive": pct(inclusive.most_common(top)), "by_library": pct(categories.most_common())}


def _significant(path: list[tuple[str, float]], top: int) -> list[tuple[str, float]]:
    """The `top` frames of the hottest path, skipping gevent's greenlet bootstrap frames."""
    start = 0
    while start < len(path) - top and ("gevent/" in path[start][0] or "greenlet" in path[start][0]):
        start += 1
    return path[start:start + top]
