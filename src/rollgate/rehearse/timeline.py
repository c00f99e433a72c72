"""What happened during a rehearsal, step by step: kept as it happens, printed as a table, written as JSON
(`timeline.json`, the chart's and the PR report's input). Non-finite values are written as the strings
"NaN", "+Inf" and "-Inf" (JSON has no such numbers); `load` reads them back."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rollgate.contracts import jsonio
from rollgate.rehearse.judge import Measured

FILE = "timeline.json"
MARKDOWN = "timeline.md"  # the table, for the PR report
VERDICTS = ("promote", "abort", "inconclusive")


@dataclass
class StepLine:
    index: int  # in the Rollout's steps; -1 for the rehearsal's own (start, full)
    kind: str
    text: str
    stage: str
    started: float  # seconds since the rehearsal started
    ended: float | None = None
    phase: str | None = None  # an analysis step's run phase


@dataclass
class Timeline:
    env: str
    sides: dict[str, dict[str, str]]  # side -> sha256, hash, folder
    settings: dict[str, Any]
    steps: list[StepLine] = field(default_factory=list)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    thresholds: dict[str, float | None] = field(default_factory=dict)  # metric -> what its result must not cross
    verdict: str | None = None
    reason: str = ""
    decided_by: dict[str, Any] | None = None  # step, stage, metric, value, threshold of an abort
    traffic: dict[str, int] = field(default_factory=dict)  # "side status" -> answers
    wall_s: float = 0.0

    def measured(self, step: int, line: Measured) -> None:
        self.measurements.append({"step": step, **asdict(line)})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _finite(asdict(self))
        return out

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE
        path.write_text(jsonio.dumps(self.to_dict()), encoding="utf-8")
        return path


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def number(value: Any) -> float | None:
    """A timeline value back as a float (the strings NaN and ±Inf included)."""
    if value is None:
        return None
    return float(value.replace("+Inf", "inf").replace("-Inf", "-inf")) if isinstance(value, str) else float(value)


def load(path: Path) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return raw


def _fmt(value: Any) -> str:
    v = number(value)
    return "no data" if v is None else f"{v:.4g}"


def table(t: dict[str, Any]) -> list[str]:
    """The timeline as Markdown: one row per step, the analysis steps with each metric's last value."""
    lines = ["| t (s) | step | stage | outcome |", "|---:|---|---|---|"]
    for step in t["steps"]:
        outcome = step["phase"] or ""
        if step["phase"]:
            last: dict[str, dict[str, Any]] = {}
            for m in t["measurements"]:
                if m["step"] == step["index"]:
                    last[m["metric"]] = m
            shown = ", ".join(f"{name} {_fmt(m['value'])} ({m['phase']})" for name, m in last.items())
            outcome = f"**{step['phase']}**: {shown}"
        lines.append(f"| {step['started']:.0f} | {step['text']} | {step['stage']} | {outcome} |")
    decided = t.get("decided_by")
    lines.append("")
    lines.append(f"**Verdict: {t['verdict']}** — {t['reason']}" + (f" (step {decided['step']})" if decided else ""))
    return lines
