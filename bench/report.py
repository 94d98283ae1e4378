"""Result rows (ours / baseline / ratio / target / verdict), the printed table and the JSON file."""
from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Row:
    """One figure. `target` is (kind, value): kind is "ratio<=", "ratio>=", "<=" or ">=" (on `ours`),
    or None for an informational figure."""

    workload: str
    metric: str
    ours: float | None
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    target: tuple[str, float] | None = None
    note: str = ""
    extra_checks: list[tuple[str, bool]] = field(default_factory=list)  # (what, passed) also required

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.baseline:
            return None
        return self.ours / self.baseline

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "INFO"
        kind, limit = self.target
        value = self.ratio if kind.startswith("ratio") else self.ours
        if not all(passed for _, passed in self.extra_checks):
            return "FAIL"
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "N/A"
        ok = value <= limit if kind.endswith("<=") else value >= limit
        return "PASS" if ok and all(passed for _, passed in self.extra_checks) else "FAIL"

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "-"
        kind, limit = self.target
        text = f"ratio {kind[-2:]} {limit:g}" if kind.startswith("ratio") else f"{kind} {limit:g} {self.unit}"
        for what, _ in self.extra_checks:
            text += f"; {what}"
        return text

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "verdict": self.verdict, "target_text": self.target_text}


def fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[Row]) -> str:
    header = ("workload", "metric", "ours", "baseline", "ratio", "target", "verdict")
    lines = [header]
    for r in rows:
        base = f"{r.baseline_name} {fmt(r.baseline)}" if r.baseline_name else "-"
        ours = f"{fmt(r.ours)} {r.unit}".strip()
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        lines.append((r.workload, r.metric, ours, base, ratio, r.target_text, r.verdict))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(str(cell).ljust(widths[j]) for j, cell in enumerate(line)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  [{r.workload} / {r.metric}] {r.note}" for r in rows if r.note]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def write(rows: list[Row], details: dict, args: dict, started: float) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    path = RESULTS / f"{stamp}.json"
    machine = {"python": platform.python_version(), "platform": platform.platform(),
               "cpus": __import__("os").cpu_count()}
    path.write_text(json.dumps({"started": stamp, "seconds": round(time.time() - started, 1), "args": args,
                                "machine": machine, "rows": [r.as_dict() for r in rows], "details": details},
                               indent=2, default=str))
    return path
