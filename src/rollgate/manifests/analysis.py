"""The canary-vs-stable analysis: one PromQL query per criterion, over the contract's metric names only.

Each query compares the canary's pods with stable's (by the `rollouts_pod_template_hash` label the
PodMonitor copies) in the same window, and yields a value only when the canary has answered at least
`{{args.min-requests}}` scoring requests: with less, the result is empty, which is inconclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollgate.contracts import metrics as m

SCORING = '"/v1/predict|/invocations"'
WINDOW = "{{args.window}}"


@dataclass(frozen=True)
class Criterion:
    name: str  # the AnalysisTemplate metric
    arg: str  # the threshold argument its result is compared with
    comment: str
    query: str


def _sel(side: str, extra: str = "") -> str:
    base = f'namespace="{{{{args.namespace}}}}",rollouts_pod_template_hash="{{{{args.{side}-hash}}}}"'
    return "{" + base + (f",{extra}" if extra else "") + "}"


def _rate(name: str, side: str, extra: str = "") -> str:
    return f"sum(rate({name}{_sel(side, extra)}[{WINDOW}]))"


def _share(part: str, whole: str) -> str:
    return f"({part} or vector(0)) / {whole}"


def _guard() -> str:
    served = f"{m.REQUESTS.name}{_sel('canary', f'route=~{SCORING}')}"
    return f"and on() (sum(increase({served}[{WINDOW}])) >= {{{{args.min-requests}}}})"


def _delta(canary: str, stable: str, absolute: bool = False) -> str:
    body = f"(\n  {canary}\n  -\n  {stable}\n)"
    return f"{'abs' if absolute else ''}{body}\n{_guard()}\n"


def _rejection(side: str) -> str:
    rejected = _rate(m.INPUT_REJECTED.name, side)
    return f"({rejected} or vector(0)) / (({rejected} or vector(0)) + {_rate(m.BATCH_ROWS.name + '_sum', side)})"


def _p99(side: str) -> str:
    buckets = f"{m.REQUEST_DURATION.name}_bucket{_sel(side, f'route=~{SCORING}')}"
    return f"histogram_quantile(0.99, sum by (le) (rate({buckets}[{WINDOW}])))"


def _mean_score(side: str) -> str:
    name = m.PREDICTION_SCORE.name
    return f"{_rate(name + '_sum', side)} / {_rate(name + '_count', side)}"


def criteria() -> tuple[Criterion, ...]:
    req, pred = m.REQUESTS.name, m.PREDICTIONS.name
    errors = {side: _share(_rate(req, side, 'code=~"5.."'), _rate(req, side)) for side in ("canary", "stable")}
    positive = {side: _share(_rate(pred, side, 'label="1"'), _rate(pred, side)) for side in ("canary", "stable")}
    return (
        Criterion("error-rate-delta", "max-error-rate-delta", "share of 5xx answers, canary minus stable",
                  _delta(errors["canary"], errors["stable"])),
        Criterion("p99-latency-ratio", "max-p99-ratio", "p99 latency of scoring requests, canary over stable",
                  f"(\n  {_p99('canary')}\n  /\n  {_p99('stable')}\n)\n{_guard()}\n"),
        Criterion("input-rejection-delta", "max-rejection-rate-delta",
                  "share of rows refused by the input contract, canary minus stable",
                  _delta(_rejection("canary"), _rejection("stable"))),
        Criterion("score-shift", "max-score-shift", "|mean predicted score, canary minus stable|",
                  _delta(_mean_score("canary"), _mean_score("stable"), absolute=True)),
        Criterion("positive-rate-shift", "max-positive-rate-shift", "|share of positive labels, canary minus stable|",
                  _delta(positive["canary"], positive["stable"], absolute=True)),
    )  # fmt: skip
