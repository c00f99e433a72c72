"""The dashboard's panels: a title, a description and PromQL built from the metrics contract's names.

Every series a query reads is a `rollgate.contracts.metrics` name (histograms with their `_bucket`, `_sum`
or `_count` suffix) or a recording rule declared here, so renaming a metric in the contract renames every
query that reads it: no panel is left on a series nobody exports. Every selector is held to the
environment's namespace and to the `$hash` variable. The per-pod-template panels group by
`rollouts_pod_template_hash`, the label the PodMonitor copies from each pod, so during a rollout canary and
stable are two lines side by side (the digest table says which model each hash serves).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rollgate.contracts import metrics as m
from rollgate.contracts.errors import ContractError
from rollgate.manifests import analysis
from rollgate.monitor.policy import PSI, Policy

# Rendered by the alert rules from the release record's baseline (see the contract): the dashboard lays
# the live score distribution over it.
REFERENCE_SCORE_CDF = m.REFERENCE_SCORE_CDF

HASH = "rollouts_pod_template_hash"
RATE = "$__rate_interval"
DRIFT_WINDOW = "1d"  # PSI needs rows in every bin: a day of traffic, not a scrape interval's
FLOOR = Policy().epsilon  # the share an empty bin counts as, as in the monitor's PSI: never ln(0)
SCORING = f"route=~{analysis.SCORING}"
ERRORS = 'code=~"5.."'


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str
    instant: bool = False  # one value per series at the range's end, as a table row


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    unit: str
    targets: tuple[Target, ...]
    kind: str = "timeseries"
    width: int = 12
    thresholds: tuple[float, ...] = ()  # drawn as lines, amber then red
    extra: dict[str, Any] = field(default_factory=dict)  # options and transformations of the panel type


@dataclass(frozen=True)
class Scope:
    namespace: str
    window: str  # the AnalysisTemplate's window: the canary panels show what the analysis judges


def _sel(s: Scope, extra: str = "") -> str:
    base = f'namespace="{s.namespace}",{HASH}=~"${{hash}}"'
    return "{" + base + (f",{extra}" if extra else "") + "}"


def _sum(name: str, s: Scope, extra: str = "", *, by: str = "", window: str = RATE, fn: str = "rate") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} ({fn}({name}{_sel(s, extra)}[{window}]))"


def _share(part: str, whole: str) -> str:
    """`part` over `whole`, 0 where `part` has no series yet (never a gap where nothing failed)."""
    return f"({part} or (0 * {whole})) / {whole}"


def _quantile(q: float, metric: m.Metric, s: Scope, extra: str = "", *, by: str = "", window: str = RATE) -> str:
    buckets = _sum(f"{metric.name}_bucket", s, extra, by=f"le, {by}" if by else "le", window=window)
    return f"histogram_quantile({q}, {buckets})"


def hash_values(namespace: str) -> str:
    """The `$hash` variable's query: the pod template hashes serving a model in the namespace."""
    return f'label_values({m.MODEL_INFO.name}{{namespace="{namespace}"}}, {HASH})'


def _by_hash(s: Scope) -> dict[str, tuple[str, str, tuple[Target, ...]]]:
    """Each analysis criterion's quantity per pod template hash: (what it is, unit, targets)."""
    w, h, legend = s.window, HASH, "{{" + HASH + "}}"
    req, preds, score = m.REQUESTS.name, m.PREDICTIONS.name, m.PREDICTION_SCORE.name
    errors = _share(_sum(req, s, f"{SCORING},{ERRORS}", by=h, window=w), _sum(req, s, SCORING, by=h, window=w))
    p99 = _quantile(0.99, m.REQUEST_DURATION, s, SCORING, by=h, window=w)
    rows = _sum(f"{m.BATCH_ROWS.name}_sum", s, by=h, window=w)
    rejected = f"({_sum(m.INPUT_REJECTED.name, s, by=h, window=w)} or (0 * {rows}))"
    positive = _share(_sum(preds, s, 'label="1"', by=h, window=w), _sum(preds, s, by=h, window=w))
    mean = f"{_sum(f'{score}_sum', s, by=h, window=w)} / {_sum(f'{score}_count', s, by=h, window=w)}"
    quantiles = tuple(
        Target(_quantile(q / 100, m.PREDICTION_SCORE, s, by=h, window=w), f"{legend} p{q}") for q in (50, 90, 99)
    )
    return {
        "error-rate-delta": ("5xx share of scoring answers", "percentunit", (Target(errors, legend),)),
        "p99-latency-ratio": ("p99 latency of scoring requests", "s", (Target(p99, legend),)),
        "input-rejection-delta": (
            "share of rows refused by the input contract", "percentunit",
            (Target(f"{rejected} / ({rejected} + {rows})", legend),),
        ),
        "positive-rate-ratio": ("positive rate", "percentunit", (Target(positive, legend),)),
        "mean-score-ratio": ("mean score", "short", (Target(mean, legend),)),
        "score-distribution": ("score quantiles p50, p90, p99", "short", quantiles),
    }  # fmt: skip


def canary_panels(s: Scope) -> list[Panel]:
    """One panel per metric the AnalysisTemplate analyses, in its order, titled by that metric's name."""
    each = _by_hash(s)
    panels = []
    for criterion in analysis.criteria():
        if criterion.name not in each:
            raise ContractError(f"the analysis criterion {criterion.name!r} has no canary-vs-stable dashboard panel")
        what, unit, targets = each[criterion.name]
        description = f"Per pod template hash, over the analysis window ({s.window}). Judged: {criterion.comment}."
        panels.append(Panel(f"{criterion.name}: {what}", description, unit, targets, width=8))
    return panels


def traffic_panels(s: Scope, latency_objective_s: float | None) -> list[Panel]:
    req, quantiles = m.REQUESTS.name, ((0.5, "p50"), (0.9, "p90"), (0.99, "p99"))
    return [
        Panel("Request rate by route and code", "Answers per second (499: the client left first).", "reqps",
              (Target(_sum(req, s, by="route, code"), "{{route}} {{code}}"),)),
        Panel("5xx share of answers", "Server errors over all answers, every route.", "percentunit",
              (Target(_share(_sum(req, s, ERRORS), _sum(req, s)), "5xx"),)),
        Panel("Latency quantiles of scoring requests", "End to end, against the latency objective where one is set.",
              "s", tuple(Target(_quantile(q, m.REQUEST_DURATION, s, SCORING), name) for q, name in quantiles),
              thresholds=(latency_objective_s,) if latency_objective_s is not None else ()),
        Panel("Rejected rows by reason", "Rows refused by the input contract, per second.", "short",
              (Target(_sum(m.INPUT_REJECTED.name, s, by="reason"), "{{reason}}"),)),
    ]  # fmt: skip


def model_panels(s: Scope) -> list[Panel]:
    score = m.PREDICTION_SCORE.name
    cdf = (f"{_sum(f'{score}_bucket', s, by='le', window='$__range', fn='increase')} / on () group_left () "
           f"{_sum(f'{score}_count', s, window='$__range', fn='increase')}")  # fmt: skip
    reference = f'max by (le) ({REFERENCE_SCORE_CDF}{{namespace="{s.namespace}"}})'
    by_hash = (f"{_sum(f'{score}_bucket', s, by=f'le, {HASH}', window=s.window)} / on ({HASH}) group_left () "
               f"{_sum(f'{score}_count', s, by=HASH, window=s.window)}")  # fmt: skip
    distance = f"max by ({HASH}) (abs({by_hash} - on (le) group_left () {reference}))"
    info = f"max by (pod, {HASH}, name, sha256) ({m.MODEL_INFO.name}{_sel(s)})"
    join = [{"id": "joinByField", "options": {"byField": "le", "mode": "outer"}},
            {"id": "organize", "options": {"excludeByName": {"Time": True, "Time 1": True, "Time 2": True},
                                           "renameByName": {"Value #A": "live", "Value #B": "reference"}}}]  # fmt: skip
    hide = [{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True}}}]
    return [
        Panel("Score distribution against the reference",
              "Share of scores at or below each bucket edge over the time range, live and the baseline's.",
              "percentunit", (Target(cdf, "live", instant=True), Target(reference, "reference", instant=True)),
              kind="barchart", extra={"transformations": join, "options": {"xField": "le"}}),
        Panel("Score distance to the reference",
              "Largest gap between each hash's score distribution and the baseline's (Kolmogorov-Smirnov), "
              f"over the analysis window ({s.window}).", "short", (Target(distance, "{{" + HASH + "}}"),)),
        Panel("Model digest per pod", "Which model (sha256) each pod serves, and its pod template hash.", "short",
              (Target(info, "", instant=True),), kind="table", width=24, extra={"transformations": hide}),
    ]  # fmt: skip


def psi(s: Scope) -> str:
    """Per feature and pod template hash: PSI of the last DRIFT_WINDOW's bin shares against the baseline's,
    each share floored at FLOOR (an empty bin counts as a tiny share), as `rollgate.monitor.distance.psi`."""
    groups = f"feature, {HASH}"
    counts = _sum(m.FEATURE_BIN.name, s, by=f"feature, bin, {HASH}", window=DRIFT_WINDOW, fn="increase")
    totals = _sum(m.FEATURE_BIN.name, s, by=groups, window=DRIFT_WINDOW, fn="increase")
    reference = f"max by (feature, bin, {HASH}) ({m.FEATURE_REFERENCE_SHARE.name}{_sel(s)})"
    live = f"clamp_min(({counts} / on ({groups}) group_left () {totals}) or (0 * {reference}), {FLOOR})"
    base = f"clamp_min({reference}, {FLOOR})"
    return f"sum by ({groups}) (({live} - {base}) * ln({live} / {base}))"


def drift_panels(s: Scope) -> list[Panel]:
    description = (
        f"PSI of each feature's bins over the last {DRIFT_WINDOW} against the baseline's shares, per pod template "
        f"hash; lines at the monitor's moderate ({PSI.moderate}) and major ({PSI.major}) floors."
    )
    target = Target(psi(s), "{{feature}} {{" + HASH + "}}")
    return [Panel("Feature drift (PSI against the baseline)", description, "short", (target,), width=24,
                  thresholds=(PSI.moderate, PSI.major))]  # fmt: skip
