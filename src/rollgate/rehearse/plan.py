"""The rollout a rehearsal walks, read from a rendered environment folder: the Rollout's canary steps in
order, the traffic each one leaves in place, and for each analysis step its AnalysisRun as Argo Rollouts
would create it — the referenced templates' metrics with every `{{args.*}}` resolved.

Arguments resolve as Argo resolves them: the templates' declared defaults, then the step's own args
(`podTemplateHashValue: Latest|Stable` becomes the canary's or stable's pod template hash, a `fieldRef`
reads the Rollout's metadata). A rehearsal may then replace argument values, but only arguments the
templates declare (the window, the interval, the Prometheus address): the queries keep their production
text. Whatever the rehearsal cannot reproduce (an experiment step, a header route, a template from
another folder) is refused by name, never skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rollgate.contracts.errors import ContractError
from rollgate.rehearse import argo
from rollgate.rehearse.nginx import Routing

TEMPLATE_KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")
_FIELD = re.compile(r"^metadata\.(name|namespace|labels|annotations)(?:\['([^']+)'\])?$")


@dataclass(frozen=True)
class Hashes:
    """The two pod template hashes the step args ask for (`podTemplateHashValue`)."""

    canary: str  # Latest
    stable: str  # Stable


@dataclass(frozen=True)
class Analysis:
    """One analysis step's AnalysisRun: its templates, its arguments as resolved, its metrics."""

    templates: tuple[str, ...]
    args: dict[str, str]
    metrics: tuple[argo.Metric, ...]
    dry_run: frozenset[str]  # metrics measured and shown but never deciding (the template's dryRun)


@dataclass(frozen=True)
class Step:
    index: int  # in spec.strategy.canary.steps
    kind: str  # setCanaryScale, setMirrorRoute, setWeight, pause or analysis
    text: str  # the step as written, on one line
    routing: Routing  # the traffic once this step has run
    pause_s: float | None  # a pause step's duration; None for an indefinite pause (and other steps)
    analysis: Analysis | None

    @property
    def stage(self) -> str:
        """Where the traffic is: "shadow", "5%", … or "no traffic" before the first route."""
        if self.routing.canary_weight:
            return f"{self.routing.canary_weight:g}%"
        return "shadow" if self.routing.mirror_percent else "no traffic"


@dataclass(frozen=True)
class Plan:
    folder: Path
    rollout: str
    namespace: str
    steps: tuple[Step, ...]
    progress_deadline_s: float  # a canary not ready within it aborts (progressDeadlineAbort)
    full: Routing  # after the last step: everything to the canary


def documents(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every object of a rendered folder (one per file), with its file."""
    out = []
    for path in sorted(folder.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict):
            out.append((path, doc))
    return out


def read(
    folder: Path, hashes: Hashes, overrides: Mapping[str, str] | None = None, defaults: Mapping[str, str] | None = None
) -> Plan:
    """The plan of the one Rollout in `folder`, its analysis args resolved with `hashes`, then `defaults`
    (values for whichever of them a template declares), then `overrides` (each must be declared).

    Raises:
        ContractError: no single Rollout, a step or field the rehearsal does not reproduce, a template
            not in the folder, an argument without a value, or an override no template declares.
    """
    docs = documents(folder)
    rollouts = [(p, d) for p, d in docs if d.get("kind") == "Rollout"]
    if len(rollouts) != 1:
        raise ContractError(f"{folder}: expected one Rollout, found {len(rollouts)}")
    path, rollout = rollouts[0]
    templates = {d["metadata"]["name"]: (p, d) for p, d in docs if d.get("kind") in TEMPLATE_KINDS}
    canary = rollout["spec"]["strategy"].get("canary")
    if canary is None:
        raise ContractError(f"{path}: spec.strategy: only the canary strategy is rehearsed")
    unused = set(overrides or {})
    routing, steps = Routing(), []
    for i, raw in enumerate(canary.get("steps", [])):
        where = f"{path}: spec.strategy.canary.steps[{i}]"
        step = _step(
            i, raw, routing, where, _Context(rollout, templates, hashes, overrides or {}, defaults or {}, unused)
        )
        routing = step.routing
        steps.append(step)
    if unused:
        raise ContractError(f"argument(s) {', '.join(sorted(unused))}: declared by no template an analysis step uses")
    return Plan(
        folder=folder,
        rollout=str(rollout["metadata"]["name"]),
        namespace=str(rollout["metadata"].get("namespace", "default")),
        steps=tuple(steps),
        progress_deadline_s=float(rollout["spec"].get("progressDeadlineSeconds", 600)),
        full=Routing(canary_weight=100.0),
    )


@dataclass
class _Context:
    rollout: dict[str, Any]
    templates: dict[str, tuple[Path, dict[str, Any]]]
    hashes: Hashes
    overrides: Mapping[str, str]
    defaults: Mapping[str, str]
    unused: set[str]  # overrides no analysis has used yet


def _step(i: int, raw: dict[str, Any], routing: Routing, where: str, ctx: _Context) -> Step:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ContractError(f"{where}: a step has exactly one kind")
    ((kind, body),) = raw.items()
    text = _text(kind, body)
    pause_s, analysis = None, None
    if kind == "setCanaryScale":
        pass  # locally one canary process whatever its scale; the traffic it gets is set by the routes
    elif kind == "setWeight":
        routing = Routing(routing.mirror_percent, routing.mirror_prefixes, float(body))
    elif kind == "setMirrorRoute":
        routing = _mirror(body, routing, where)
    elif kind == "pause":
        duration = (body or {}).get("duration")
        pause_s = None if duration is None else _duration(duration, f"{where}.pause.duration")
    elif kind == "analysis":
        analysis = _analysis(body, where, ctx)
    else:
        raise ContractError(f"{where}: a {kind} step is not rehearsed (only setCanaryScale, setMirrorRoute, "
                            "setWeight, pause and analysis)")  # fmt: skip
    return Step(i, kind, text, routing, pause_s, analysis)


def _text(kind: str, body: Any) -> str:
    """The step on one line; an analysis by its templates (its args are the same at every step)."""
    if kind == "analysis" and isinstance(body, dict):
        return f"analysis: {', '.join(str(t.get('templateName')) for t in body.get('templates', []))}"
    if isinstance(body, dict):
        return f"{kind}: " + json.dumps(body, separators=(", ", ": ")).replace('"', "")
    return f"{kind}: {body}"


def _duration(value: Any, where: str) -> float:
    """A pause duration: an integer is seconds, a string a Go-style duration ("5m")."""
    if isinstance(value, int):
        return float(value)
    return argo.parse_duration(str(value), where)


def _mirror(body: dict[str, Any], routing: Routing, where: str) -> Routing:
    """A setMirrorRoute: without `match` it removes the route; with one it mirrors `percentage` (100 by
    default) of the requests whose path starts with one of the match's prefixes."""
    if set(body) - {"name", "match", "percentage"}:
        raise ContractError(f"{where}.setMirrorRoute: only name, match and percentage are rehearsed")
    if not body.get("match"):
        return Routing(0.0, (), routing.canary_weight)
    prefixes = []
    for k, match in enumerate(body["match"]):
        path = match.get("path", {}) if set(match) == {"path"} else {}
        if set(path) != {"prefix"}:
            raise ContractError(f"{where}.setMirrorRoute.match[{k}]: only a path prefix match is rehearsed")
        prefixes.append(str(path["prefix"]))
    return Routing(float(body.get("percentage", 100)), tuple(prefixes), routing.canary_weight)


def _analysis(body: dict[str, Any], where: str, ctx: _Context) -> Analysis:
    refs = body.get("templates", [])
    if not refs:
        raise ContractError(f"{where}.analysis: no templates")
    declared: dict[str, str | None] = {}
    found = []
    for k, ref in enumerate(refs):
        name = ref.get("templateName")
        if name not in ctx.templates:
            raise ContractError(f"{where}.analysis.templates[{k}]: {name!r} is not a template in the rendered folder")
        found.append(ctx.templates[name])
        for arg in found[-1][1]["spec"].get("args", []):
            declared[arg["name"]] = _declared(arg, f"{found[-1][0]}: spec.args[{arg['name']}]", declared)
    for k, arg in enumerate(body.get("args", [])):
        if arg["name"] not in declared:
            raise ContractError(f"{where}.analysis.args[{k}]: {arg['name']!r} is declared by no template it uses")
        declared[arg["name"]] = _step_arg(arg, f"{where}.analysis.args[{k}]", ctx)
    declared.update({name: value for name, value in ctx.defaults.items() if name in declared})
    for name, value in ctx.overrides.items():
        if name in declared:
            declared[name] = value
            ctx.unused.discard(name)
    missing = sorted(n for n, v in declared.items() if v is None)
    if missing:
        raise ContractError(f"{where}.analysis: argument(s) {', '.join(missing)} have no value")
    args = {n: str(v) for n, v in declared.items()}
    metrics, rules = [], []
    for path, doc in found:
        for k, metric in enumerate(doc["spec"]["metrics"]):
            at = f"{path}: spec.metrics[{k}]"
            metrics.append(argo.metric(argo.resolve_metric(metric, args, at), at))
        rules += [
            (f"{path}: spec.dryRun[{k}]", d.get("metricName")) for k, d in enumerate(doc["spec"].get("dryRun", []))
        ]
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ContractError(f"{where}.analysis: two metrics share a name ({', '.join(sorted(names))})")
    return Analysis(tuple(str(r["templateName"]) for r in refs), args, tuple(metrics), _dry_run(rules, names))


def _dry_run(rules: list[tuple[str, Any]], names: list[str]) -> frozenset[str]:
    """The metrics run dry, as Argo's GetDryRunMetrics finds them: each rule's metricName a regular expression
    searched in every metric name of the run (regexp.MatchString); a rule that matches none fails the run."""
    out: set[str] = set()
    for where, pattern in rules:
        try:
            matched = {n for n in names if re.search(str(pattern), n)}
        except re.error:  # Go's regexp does not compile it either: it matches nothing
            matched = set()
        if not matched:
            raise ContractError(
                f"{where}.metricName: {pattern!r} matches no metric of the analysis (Argo fails the run)"
            )
        out |= matched
    return frozenset(out)


def _declared(arg: dict[str, Any], where: str, seen: Mapping[str, str | None]) -> str | None:
    if "valueFrom" in arg:
        raise ContractError(f"{where}: a secret or field valueFrom in a template is not rehearsed")
    value, before = None if "value" not in arg else str(arg["value"]), seen.get(arg["name"])
    if before is not None and value is not None and before != value:
        raise ContractError(f"{where}: declared again with another value ({before!r} vs {value!r})")
    return before if value is None else value  # Argo's flattenArgs: a bare declaration keeps the other's value


def _step_arg(arg: dict[str, Any], where: str, ctx: _Context) -> str:
    if "value" in arg:
        return str(arg["value"])
    source = arg.get("valueFrom", {})
    if "podTemplateHashValue" in source:
        which = source["podTemplateHashValue"]
        if which not in ("Latest", "Stable"):
            raise ContractError(f"{where}.valueFrom.podTemplateHashValue: {which!r} is not Latest or Stable")
        return ctx.hashes.canary if which == "Latest" else ctx.hashes.stable
    field = source.get("fieldRef", {}).get("fieldPath", "")
    match = _FIELD.match(field)
    if set(source) != {"fieldRef"} or match is None:
        raise ContractError(f"{where}.valueFrom: only podTemplateHashValue and metadata fieldRefs are rehearsed")
    meta = ctx.rollout["metadata"]
    value = meta.get(match.group(1)) if match.group(2) is None else meta.get(match.group(1), {}).get(match.group(2))
    if not isinstance(value, str):
        raise ContractError(f"{where}.valueFrom.fieldRef: the Rollout has no {field}")
    return value
