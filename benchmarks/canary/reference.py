"""Each criterion's value from one window's counts, computed as the rendered PromQL computes it.

Rates over one window are its counts over the window's length, so every ratio of rates is a ratio of
counts; the guards compare counts (`increase`). Division follows IEEE (and PromQL): x/0 is +Inf for
x > 0, 0/0 is NaN. `None` is an empty result: the measurement is inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.canary.template import Plan


@dataclass(frozen=True)
class Side:
    """One side's counts over a window (a scored request is one or more rows)."""

    requests: float  # scoring requests answered
    errors: float  # of which 5xx
    rows: float  # rows scored: predictions, score observations, batch rows
    rejected: float  # rows refused by the input contract
    positives: float  # scores at or above the release's threshold
    score_sum: float
    score_le: np.ndarray  # cumulative score counts at each contract edge (SCORE_BUCKETS), then +Inf
    latency_le: np.ndarray  # cumulative latency counts at each server edge (LATENCY_BUCKETS), then +Inf


def div(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


def fold(r: float) -> float:
    """`(r > 1) or (1 / r)`: max(r, 1/r), with 0 folded to +Inf (NaN stays NaN)."""
    return r if r > 1 else div(1.0, r)


def quantile(q: float, edges: tuple[float, ...], cumulative: np.ndarray) -> float:
    """Prometheus's histogram_quantile over cumulative bucket counts (the last is +Inf)."""
    total = float(cumulative[-1])
    if total == 0:
        return math.nan
    rank = q * total
    b = int(np.searchsorted(cumulative[:-1], rank, side="left"))  # first bucket with count >= rank
    if b == len(edges):
        return edges[-1]
    start, below = (0.0, 0.0) if b == 0 else (edges[b - 1], float(cumulative[b - 1]))
    return start + (edges[b] - start) * (rank - below) / (float(cumulative[b]) - below)


def _errors(s: Side) -> float:
    return div(s.errors, s.requests)


def _error_noise(c: Side, s: Side, plan: Plan) -> float:
    pooled = div(c.errors + s.errors, c.requests + s.requests)
    return plan.arg("error-critical") * math.sqrt(pooled * (1 - pooled) * (div(1, c.requests) + div(1, s.requests)))


def _rejection(s: Side) -> float:
    return div(s.rejected, s.rejected + s.rows)


def _positive_share(s: Side) -> float:
    return div(s.positives, s.rows)


def _mean(s: Side) -> float:
    return div(s.score_sum, s.rows)


def _ks(c: Side, s: Side, plan: Plan) -> float:
    cdf_c, cdf_s = c.score_le / c.rows, s.score_le / s.rows  # NaN with no rows, as in PromQL
    distance = float(np.max(np.abs(cdf_c - cdf_s)))
    noise = plan.arg("score-ks-critical") * math.sqrt(div(1, c.rows) + div(1, s.rows))
    return div(distance, max(noise, plan.arg("min-score-distance")))


def _enough_positives(c: Side, s: Side, plan: Plan) -> bool:
    floor = plan.arg("min-expected-positives")
    return c.rows * _positive_share(s) >= floor and s.positives >= floor


def values(c: Side, s: Side, plan: Plan, latency_edges: tuple[float, ...]) -> dict[str, float | None]:
    """Criterion name -> its value on this window's canary `c` and stable `s` (None: empty result)."""
    if not c.requests >= plan.arg("min-requests"):
        return {m.name: None for m in plan.metrics}
    ratios = _enough_positives(c, s, plan)
    found: dict[str, Callable[[], float | None]] = {
        "error-rate-delta": lambda: _errors(c) - _errors(s) - _error_noise(c, s, plan),
        "p99-latency-ratio": lambda: div(quantile(0.99, latency_edges, c.latency_le),
                                         quantile(0.99, latency_edges, s.latency_le)),
        "input-rejection-delta": lambda: _rejection(c) - _rejection(s),
        "positive-rate-ratio": lambda: fold(div(_positive_share(c), _positive_share(s))) if ratios else None,
        "mean-score-ratio": lambda: fold(div(_mean(c), _mean(s))) if ratios else None,
        "score-distribution": lambda: _ks(c, s, plan),
    }  # fmt: skip
    unknown = [m.name for m in plan.metrics if m.name not in found]
    if unknown:
        raise KeyError(f"the rendered AnalysisTemplate has criteria this reference does not know: {unknown}")
    return {m.name: found[m.name]() for m in plan.metrics}
