"""The canary-vs-stable analysis: one PromQL query per criterion, over the contract's metric names only.

Each query compares the canary's pods with stable's (by the `rollouts_pod_template_hash` label the
PodMonitor copies) in the same window. Nothing is judged by an absolute difference that a model with
a 1 % positive rate would pass while dead: the model-aware criteria are ratios (positive rate, mean
score, each folded so that half and double are equally far from 1) and a distance between the two
score distributions over the contract's shared buckets (Kolmogorov-Smirnov, against a critical value
that shrinks with the sample and an effect floor that does not).

A query yields a value only when the window holds enough evidence for it: at least
`{{args.min-requests}}` canary scoring requests, and, for the ratios, at least
`{{args.min-expected-positives}}` positives expected among the canary's rows at stable's rate (and as
many seen on stable). With less, the result is empty: neither condition holds, so the measurement is
inconclusive (the rollout waits), never a pass and never a false abort.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollgate.contracts import metrics as m

SCORING = '"/v1/predict|/invocations"'
WINDOW = "{{args.window}}"
SIDES = ("canary", "stable")


@dataclass(frozen=True)
class Criterion:
    name: str  # the AnalysisTemplate metric
    arg: str  # the threshold argument its result must not exceed
    comment: str
    query: str


def _sel(side: str, extra: str = "") -> str:
    base = f'namespace="{{{{args.namespace}}}}",rollouts_pod_template_hash="{{{{args.{side}-hash}}}}"'
    return "{" + base + (f",{extra}" if extra else "") + "}"


def _rate(name: str, side: str, extra: str = "") -> str:
    return f"sum(rate({name}{_sel(side, extra)}[{WINDOW}]))"


def _increase(name: str, side: str, extra: str = "") -> str:
    return f"sum(increase({name}{_sel(side, extra)}[{WINDOW}]))"


def _share(part: str, whole: str) -> str:
    return f"({part} or vector(0)) / {whole}"


def _enough_requests() -> str:
    served = _increase(m.REQUESTS.name, "canary", f"route=~{SCORING}")
    return f"and on() ({served} >= {{{{args.min-requests}}}})"


def _positive_share(side: str) -> str:
    return _share(_rate(m.PREDICTIONS.name, side, 'label="1"'), _rate(m.PREDICTIONS.name, side))


def _enough_positives() -> str:
    """Enough positives expected on the canary at stable's rate, and seen on stable, for a ratio to mean much."""
    expected = f"({_increase(m.PREDICTIONS.name, 'canary')} * {_positive_share('stable')})"
    seen = _increase(m.PREDICTIONS.name, "stable", 'label="1"')
    floor = "{{args.min-expected-positives}}"
    return f"and on() ({expected} >= {floor})\nand on() ({seen} >= {floor})"


def _delta(canary: str, stable: str) -> str:
    return f"(\n  {canary}\n  -\n  {stable}\n)\n{_enough_requests()}\n"


def _fold(ratio: str) -> str:
    """max(r, 1/r): a canary at half stable's value is as far off as one at double; 0 folds to +Inf."""
    return f"((\n  {ratio}\n) > 1)\nor\n(1 / (\n  {ratio}\n))"


def _folded_ratio(canary: str, stable: str) -> str:
    return f"(\n{_fold(f'({canary}) / ({stable})')}\n)\n{_enough_requests()}\n{_enough_positives()}\n"


def _errors(side: str) -> str:
    scoring = f"route=~{SCORING}"
    return _share(_rate(m.REQUESTS.name, side, f'{scoring},code=~"5.."'), _rate(m.REQUESTS.name, side, scoring))


def _error_noise() -> str:
    """How far two 5xx shares differ by chance alone: the critical value times the standard error of their
    difference at the pooled share. One 5xx among a window's 50 canary requests is 2 points, and overlapping
    windows count it twice: without this allowance a single transient error aborts a good canary."""
    scoring = f"route=~{SCORING}"
    errors = scoring + ',code=~"5.."'
    n = {side: _increase(m.REQUESTS.name, side, scoring) for side in SIDES}
    e = {side: f"({_increase(m.REQUESTS.name, side, errors)} or vector(0))" for side in SIDES}
    pooled = f"(({e['canary']} + {e['stable']}) / ({n['canary']} + {n['stable']}))"
    spread = f"sqrt({pooled} * (1 - {pooled}) * (1 / {n['canary']} + 1 / {n['stable']}))"
    return f"{{{{args.error-critical}}}} * {spread}"


def _rejection(side: str) -> str:
    rejected = _rate(m.INPUT_REJECTED.name, side)
    return f"({rejected} or vector(0)) / (({rejected} or vector(0)) + {_rate(m.BATCH_ROWS.name + '_sum', side)})"


def _p99(side: str) -> str:
    buckets = f"{m.REQUEST_DURATION.name}_bucket{_sel(side, f'route=~{SCORING}')}"
    return f"histogram_quantile(0.99, sum by (le) (rate({buckets}[{WINDOW}])))"


def _mean_score(side: str) -> str:
    name = m.PREDICTION_SCORE.name
    return f"({_rate(name + '_sum', side)} / {_rate(name + '_count', side)})"


def _cdf(side: str) -> str:
    """The side's score distribution: share of scores at or below each bucket edge."""
    name = m.PREDICTION_SCORE.name
    return f"sum by (le) (rate({name}_bucket{_sel(side)}[{WINDOW}])) / on() group_left() {_rate(name + '_count', side)}"


def _score_distance() -> str:
    """Kolmogorov-Smirnov distance of the binned distributions over what it must exceed to count:
    max(critical value x sqrt(1/n + 1/m), the effect floor). Above 1 means the distributions differ."""
    distance = f"max(abs(\n  {_cdf('canary')}\n  -\n  {_cdf('stable')}\n))"
    n = {side: _increase(m.PREDICTION_SCORE.name + "_count", side) for side in SIDES}
    noise = f"{{{{args.score-ks-critical}}}} * sqrt(1 / {n['canary']} + 1 / {n['stable']})"
    bound = f"clamp_min({noise}, {{{{args.min-score-distance}}}})"
    return f"(\n{distance}\n/\n{bound}\n)\n{_enough_requests()}\n"


def criteria() -> tuple[Criterion, ...]:
    return (
        Criterion("error-rate-delta", "max-error-rate-delta",
                  "share of 5xx scoring answers, canary minus stable, less what chance alone explains",
                  _delta(_errors("canary"), f"{_errors('stable')}\n  -\n  {_error_noise()}")),
        Criterion("p99-latency-ratio", "max-p99-ratio", "p99 latency of scoring requests, canary over stable",
                  f"(\n  {_p99('canary')}\n  /\n  {_p99('stable')}\n)\n{_enough_requests()}\n"),
        Criterion("input-rejection-delta", "max-rejection-rate-delta",
                  "share of rows refused by the input contract, canary minus stable",
                  _delta(_rejection("canary"), _rejection("stable"))),
        Criterion("positive-rate-ratio", "max-positive-rate-ratio",
                  "positive rate, canary over stable, folded (max of r and 1/r): a dead model's is +Inf",
                  _folded_ratio(_positive_share("canary"), _positive_share("stable"))),
        Criterion("mean-score-ratio", "max-mean-score-ratio", "mean predicted score, canary over stable, folded",
                  _folded_ratio(_mean_score("canary"), _mean_score("stable"))),
        Criterion("score-distribution", "max-score-distance-ratio",
                  "KS distance of the score distributions over its critical value (or the floor): at most 1",
                  _score_distance()),
    )  # fmt: skip


def _median_score(side: str) -> str:
    return f"histogram_quantile(0.5, sum by (le) (rate({m.PREDICTION_SCORE.name}_bucket{_sel(side)}[{WINDOW}])))"


def side_queries() -> dict[str, dict[str, str]]:
    """Each criterion's quantity on one side alone (`{{args.<side>-hash}}`), by criterion and side: what a
    chart of canary against stable draws. The score distribution is drawn by its median."""
    each = {
        "error-rate-delta": _errors, "p99-latency-ratio": _p99, "input-rejection-delta": _rejection,
        "positive-rate-ratio": _positive_share, "mean-score-ratio": _mean_score, "score-distribution": _median_score,
    }  # fmt: skip
    return {name: {side: query(side) for side in SIDES} for name, query in each.items()}
