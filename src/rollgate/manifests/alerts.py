"""The environment's alert rules (a PrometheusRule), generated from the metrics contract and the
release record: every query names only the contract's series and the recording rules rendered here.

- The server: 5xx share of scoring answers, p99 of the scoring routes against the latency objective,
  share of rows refused by the input contract, no server at all, or a server whose digest is not
  the release record's (git and the cluster disagree: an aborted rollout left stable serving).
- The data: the live score distribution's KS distance from the champion's holdout scores (the
  reference is rendered from the release record's baseline into `contracts.metrics.REFERENCE_SCORE_CDF`,
  so it lives in git beside the digest it belongs to), and each feature's PSI on all traffic from the
  server's bin counters against the reference shares it exports.
Drift and digest alerts are silenced while more than one digest is served at once (a rollout in
progress, expressed by the contract's own `rollgate_model_info`), and the drift alerts say nothing
until the window holds `alerts.min_drift_rows` rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from rollgate.contracts import metrics as m
from rollgate.contracts.errors import ContractError
from rollgate.contracts.release import Release
from rollgate.manifests.deploy_config import DeployConfig

SCORING = '"/v1/predict|/invocations"'
RATE_WINDOW = "5m"
SHARE_FLOOR = 1e-4  # an empty bin's share, so PSI stays finite (the monitor's floor)


@dataclass(frozen=True)
class Rule:
    name: str  # the alert or the recorded series
    expr: str
    comment: str = ""
    record: bool = False
    for_: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "record" if self.record else "alert"

    @property
    def labels_json(self) -> str:
        return json.dumps(self.labels, sort_keys=True)

    @property
    def annotations_json(self) -> str:
        return json.dumps(self.annotations, sort_keys=True)


@dataclass(frozen=True)
class Group:
    name: str
    rules: tuple[Rule, ...]


class _Q:
    """PromQL over one environment's series."""

    def __init__(self, cfg: DeployConfig) -> None:
        self.ns = f'namespace="{cfg.namespace}"'

    def sel(self, extra: str = "") -> str:
        return "{" + self.ns + (f",{extra}" if extra else "") + "}"

    def rate(self, name: str, extra: str = "", window: str = RATE_WINDOW) -> str:
        return f"sum(rate({name}{self.sel(extra)}[{window}]))"

    def rollout_in_progress(self) -> str:
        return f"(count(count by (sha256) ({m.MODEL_INFO.name}{self.sel()})) > 1)"


def _annotate(cfg: DeployConfig, alert: str, summary: str, description: str) -> dict[str, str]:
    base = cfg.alerts.runbook_url or f"https://github.com/{cfg.argocd.github_repo}/blob/main/docs/runbook.md"
    return {"summary": summary, "description": description, "runbook_url": f"{base}#{alert.lower()}"}


def _alert(cfg: DeployConfig, name: str, expr: str, severity: str, text: tuple[str, str, str], *, for_: str) -> Rule:
    comment, summary, description = text
    labels = {"severity": severity, "namespace": cfg.namespace, "app": cfg.app, "env": cfg.env}
    return Rule(name, expr, comment, for_=for_, labels=labels, annotations=_annotate(cfg, name, summary, description))


def _serving(cfg: DeployConfig, release: Release) -> tuple[Rule, ...]:
    q, a = _Q(cfg), cfg.alerts
    scoring = f"route=~{SCORING}"
    answered = q.rate(m.REQUESTS.name, scoring)
    failed = q.rate(m.REQUESTS.name, scoring + ',code=~"5.."')
    errors = f"({failed} or vector(0)) / {answered}"
    buckets = f"{m.REQUEST_DURATION.name}_bucket{q.sel(scoring)}"
    p99 = f"histogram_quantile(0.99, sum by (le) (rate({buckets}[{RATE_WINDOW}])))"
    rejected = f"({q.rate(m.INPUT_REJECTED.name)} or vector(0))"
    scored = q.rate(m.BATCH_ROWS.name + "_sum")
    sha = release.model.sha256
    other = f"count({m.MODEL_INFO.name}{q.sel(f'sha256!={json.dumps(sha)}')}) > 0"
    return (
        _alert(cfg, "RollgateErrorShare", f"{errors} > {a.max_error_share}", "critical",
               ("5xx share of scoring answers", "Model server answers 5xx",
                f"{{{{ $value | humanizePercentage }}}} of scoring answers are 5xx (at most {a.max_error_share})"),
               for_="10m"),
        _alert(cfg, "RollgateLatencyObjective", f"{p99} > {a.p99_objective_seconds}", "warning",
               ("p99 of the scoring routes against the latency objective", "Scoring p99 above its objective",
                f"p99 {{{{ $value | humanizeDuration }}}} (objective {a.p99_objective_seconds}s)"), for_="10m"),
        _alert(cfg, "RollgateInputRejected", f"{rejected} / ({rejected} + {scored}) > {a.max_rejected_share}",
               "warning", ("share of rows refused by the input contract", "Rows refused by the input contract",
                           "{{ $value | humanizePercentage }} of rows refused (see rollgate_input_rejected_total "
                           "by reason)"), for_="15m"),
        _alert(cfg, "RollgateServerAbsent", f"absent({m.MODEL_INFO.name}{q.sel()})", "critical",
               ("no model server exports its metrics", "No model server is scraped",
                f"no {m.MODEL_INFO.name} in {cfg.namespace} for 5 minutes"), for_="5m"),
        _alert(cfg, "RollgateUnexpectedDigest", f"{other}\nunless on () {q.rollout_in_progress()}", "critical",
               ("a pod serves another digest than the release record's, with no rollout in progress",
                "A model other than the release record's is served",
                f"pods serve a digest other than {sha[:12]} (manifests/{cfg.env}/release.json): an aborted rollout? "
                "git and the cluster disagree"), for_="15m"),
    )  # fmt: skip


def _reference(cfg: DeployConfig, release: Release) -> tuple[Rule, ...]:
    assert release.baseline is not None
    score = release.baseline
    return tuple(
        Rule(m.REFERENCE_SCORE_CDF, f"vector({cdf!r})", record=True,
             labels={"le": m.le_label(le), "namespace": cfg.namespace})
        for le, cdf in zip(score.score_le, score.score_cdf, strict=True)
    )  # fmt: skip


def _drift(cfg: DeployConfig) -> tuple[Rule, ...]:
    q, a = _Q(cfg), cfg.alerts
    w = a.drift_window
    name = m.PREDICTION_SCORE.name
    total = f"sum(increase({name}_count{q.sel()}[{w}]))"
    live = f"sum by (le) (increase({name}_bucket{q.sel()}[{w}])) / on () group_left () {total}"
    distance = f"max(abs(\n  {live}\n  - on (le)\n  {m.REFERENCE_SCORE_CDF}{q.sel()}\n))"
    enough = f"and on () ({total} >= {a.min_drift_rows})\nunless on () {q.rollout_in_progress()}"
    binned = f"increase({m.FEATURE_BIN.name}{q.sel()}[{w}])"
    rows = f"sum by (feature) ({binned})"
    current = (
        f"clamp_min(\n  sum by (feature, bin) ({binned})\n  / on (feature) group_left ()\n  {rows},\n  {SHARE_FLOOR})"
    )
    ref = f"clamp_min(max by (feature, bin) ({m.FEATURE_REFERENCE_SHARE.name}{q.sel()}), {SHARE_FLOOR})"
    psi = f"sum by (feature) (\n  ({current} - {ref})\n  * ln({current} / {ref})\n)"
    guard = f"and on (feature) ({rows} >= {a.min_drift_rows})\nunless on () {q.rollout_in_progress()}"
    return (
        _alert(cfg, "RollgateScoreDrift", f"{distance} > {a.max_score_distance}\n{enough}", "warning",
               ("KS distance of the live scores from the champion's holdout scores",
                "Score distribution moved from the holdout's",
                f"KS distance {{{{ $value | printf \"%.3f\" }}}} over {w} (floor {a.max_score_distance})"), for_="1h"),
        _alert(cfg, "RollgateFeatureDrift", f"{psi} > {a.psi_warning}\n{guard}", "warning",
               ("per-feature PSI on all traffic against the baseline's bins: moderate",
                "Feature {{ $labels.feature }} drifted",
                f"PSI {{{{ $value | printf \"%.3f\" }}}} over {w} (moderate from {a.psi_warning})"), for_="1h"),
        _alert(cfg, "RollgateFeatureDriftMajor", f"{psi} > {a.psi_critical}\n{guard}", "critical",
               ("per-feature PSI: major", "Feature {{ $labels.feature }} drifted a lot",
                f"PSI {{{{ $value | printf \"%.3f\" }}}} over {w} (major from {a.psi_critical}): retrain"), for_="1h"),
    )  # fmt: skip


def groups(cfg: DeployConfig, release: Release) -> tuple[Group, ...]:
    """The rule groups of `cfg`'s environment for `release`; a record without a baseline is refused."""
    if release.baseline is None:
        raise ContractError(
            f"manifests/{cfg.env}/release.json: no baseline (the drift alerts need its bins and score reference); "
            f"promote the model again after `make repro` writes reports/baseline.json"
        )
    return (
        Group(f"{cfg.app}-serving", _serving(cfg, release)),
        Group(f"{cfg.app}-reference", _reference(cfg, release)),
        Group(f"{cfg.app}-drift", _drift(cfg)),
    )
