"""What the bench judges with, read from the rendered manifests, never re-declared: each criterion's
threshold, count, interval and failure limit from the AnalysisTemplate, the evidence guards from its
arguments, and the analysed steps (shadow's mirrored share, then each canary weight) from the Rollout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rollgate.contracts import release as release_
from rollgate.contracts.errors import RollgateError
from rollgate.manifests import render
from rollgate.manifests.deploy_config import load_deploy_config

_SUCCESS = re.compile(r"result\[0\] <= \{\{args\.([a-z0-9-]+)\}\}")
_FAILURE = re.compile(r"result\[0\] > \{\{args\.([a-z0-9-]+)\}\}")
_ARG = re.compile(r"^\{\{args\.([a-z0-9-]+)\}\}$")


@dataclass(frozen=True)
class Metric:
    name: str
    threshold: float  # passes at or below, fails above (an empty result is neither)
    count: int
    failure_limit: int
    inconclusive_limit: int  # Argo's default 0: one inconclusive measurement makes the run inconclusive
    interval_s: int


@dataclass(frozen=True)
class Step:
    name: str  # "shadow" or "<weight>%"
    canary_share: float  # share of all scoring traffic the canary scores (mirrored in shadow)
    stable_share: float


@dataclass(frozen=True)
class Plan:
    metrics: tuple[Metric, ...]
    args: dict[str, str]  # the AnalysisTemplate's argument values
    window_s: int
    steps: tuple[Step, ...]

    def arg(self, name: str) -> float:
        return float(self.args[name])


def _seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)([sm])", text)
    if match is None:
        raise RollgateError(f"cannot read the duration {text!r} (expected like 60s or 2m)")
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def _metric(doc: dict[str, Any], args: dict[str, str]) -> Metric:
    success, failure = _SUCCESS.search(doc["successCondition"]), _FAILURE.search(doc["failureCondition"])
    if success is None or failure is None or success.group(1) != failure.group(1):
        raise RollgateError(f"{doc['name']}: conditions are not `result[0] <= X` / `result[0] > X` on one argument")
    return Metric(doc["name"], float(args[success.group(1)]), int(doc["count"]), int(doc["failureLimit"]),
                  int(doc.get("inconclusiveLimit", 0)), _seconds(_value(str(doc["interval"]), args)))  # fmt: skip


def _value(text: str, args: dict[str, str]) -> str:
    """A field's value, or the argument's when the field is just `{{args.NAME}}` (the interval is)."""
    match = _ARG.match(text)
    return args[match.group(1)] if match else text


def _steps(rollout: dict[str, Any]) -> tuple[Step, ...]:
    """Each analysis step with the traffic the canary and stable score during it."""
    mirror, weight, out = 0.0, 0.0, []
    for step in rollout["spec"]["strategy"]["canary"]["steps"]:
        if "setMirrorRoute" in step:
            mirror = float(step["setMirrorRoute"].get("percentage", 0))
        elif "setWeight" in step:
            weight = float(step["setWeight"])
        elif "analysis" in step and mirror and not weight:
            out.append(Step("shadow", mirror / 100, 1.0))
        elif "analysis" in step:
            out.append(Step(f"{weight:g}%", weight / 100, 1 - weight / 100))
    return tuple(out)


def plan(texts: dict[str, str], what_if: dict[str, str] | None = None) -> Plan:
    """The plan from the rendered texts (`render.render_texts`), with `what_if` argument values replacing
    the rendered ones (to try a threshold before changing configs/deploy)."""
    (template,) = [yaml.safe_load(t) for n, t in texts.items() if n.endswith("-analysistemplate.yaml")]
    (rollout,) = [yaml.safe_load(t) for n, t in texts.items() if n.endswith("-rollout.yaml")]
    args = {a["name"]: str(a["value"]) for a in template["spec"]["args"] if "value" in a}
    unknown = sorted(set(what_if or {}) - set(args))
    if unknown:
        raise RollgateError(f"no such AnalysisTemplate argument with a value: {', '.join(unknown)}")
    args.update(what_if or {})
    metrics = tuple(_metric(m, args) for m in template["spec"]["metrics"])
    return Plan(metrics, args, _seconds(args["window"]), _steps(rollout))


def load(root: Path, env: str, what_if: dict[str, str] | None = None) -> tuple[Plan, float]:
    """The env's plan, rendered from configs/deploy/<env>.yaml and its release record, and the release's
    decision threshold (a score at or above it is a positive)."""
    path = root / "manifests" / env / "release.json"
    record = release_.loads(path.read_text(), str(path)) if path.is_file() else None
    if record is None:
        raise RollgateError(f"{path}: no release record (no model deployed): nothing to render")
    return plan(render.render_texts(load_deploy_config(root, env), record), what_if), float(record.threshold)
