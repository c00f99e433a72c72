"""Simulated per-interval counts of a canary and stable: the model's scores, 5xx answers and latency.

Every request is one row. Scores are drawn from a pool (the trained model's scores on the holdout, or a
fraud-like beta mixture); the canary kinds change only what they name: `dead` answers 0 for everything,
`shifted` adds `shift` (SHIFT unless told) to every score's log-odds, `slow` doubles latency, `erroring` answers 5xx to
ERRORING of its requests. Both sides answer 5xx to BASE_ERRORS of requests; 5xx answers score nothing.
Latency is log-normal around the example's single-row median (LATENCY_MEDIAN_S, LATENCY_SIGMA).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from benchmarks.canary.reference import Side
from rollgate.contracts.metrics import SCORE_BUCKETS
from rollgate.serve.metrics import LATENCY_BUCKETS

KINDS = ("good", "dead", "shifted", "slow", "erroring")
SHIFT = 1.0  # log-odds added to every score by the shifted canary
ERRORING = 0.05
BASE_ERRORS = 0.001
LATENCY_MEDIAN_S, LATENCY_SIGMA = 0.008, 0.25
_SCORE_EDGES, _LATENCY_EDGES = np.asarray(SCORE_BUCKETS), np.asarray(LATENCY_BUCKETS)
# Layout of one interval's counts as a vector: requests, errors, rows, rejected, positives, score sum,
# cumulative score buckets (then +Inf), cumulative latency buckets (then +Inf).
_S, _L = 6, 6 + len(SCORE_BUCKETS) + 1


@dataclass(frozen=True)
class Model:
    """What one side serves."""

    scores: np.ndarray  # the pool its scores are drawn from
    threshold: float
    errors: float = BASE_ERRORS
    latency_factor: float = 1.0
    rows: int = 1  # rows per scoring request (the rehearsal's replayer sends several)
    latency_sigma: float = LATENCY_SIGMA


def beta_mixture(rng: np.random.Generator, n: int = 100_000) -> np.ndarray:
    """A fraud-like pool when there is no holdout: 2 % of scores from Beta(2, 3), the rest from Beta(0.6, 80)."""
    high = rng.random(n) < 0.02
    return np.where(high, rng.beta(2.0, 3.0, n), rng.beta(0.6, 80.0, n))


def canary(kind: str, stable: Model, shift: float = SHIFT) -> Model:
    """The canary of `kind`: stable's model with one thing wrong (its traffic shape kept)."""
    if kind == "dead":
        return replace(stable, scores=np.zeros(1))
    if kind == "shifted":
        p = np.clip(stable.scores, 1e-12, 1 - 1e-12)
        return replace(stable, scores=1 / (1 + np.exp(-(np.log(p / (1 - p)) + shift))))
    if kind == "slow":
        return replace(stable, latency_factor=2.0)
    if kind == "erroring":
        return replace(stable, errors=ERRORING)
    if kind == "good":
        return stable
    raise ValueError(f"unknown canary kind {kind!r} (known: {', '.join(KINDS)})")


def _cumulative(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts at or below each edge (`le`), then all: a Prometheus histogram's buckets."""
    return np.cumsum(np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1))


def interval(rng: np.random.Generator, model: Model, mean_requests: float) -> np.ndarray:
    """One interval's counts (the vector layout above) for Poisson(`mean_requests`) requests."""
    requests = int(rng.poisson(mean_requests))
    errors = int(rng.binomial(requests, model.errors))
    scores = model.scores[rng.integers(0, len(model.scores), (requests - errors) * model.rows)]
    latency = rng.lognormal(np.log(LATENCY_MEDIAN_S * model.latency_factor), model.latency_sigma, requests)
    head = [requests, errors, len(scores), 0, int(np.count_nonzero(scores >= model.threshold)), float(scores.sum())]
    return np.concatenate([head, _cumulative(scores, _SCORE_EDGES), _cumulative(latency, _LATENCY_EDGES)])


def side(counts: np.ndarray) -> Side:
    """A window's Side from the sum of its intervals' vectors."""
    v = [float(x) for x in counts[:_S]]
    return Side(v[0], v[1], v[2], v[3], v[4], v[5], counts[_S:_L], counts[_L:])
