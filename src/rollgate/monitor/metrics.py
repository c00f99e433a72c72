"""Statistics of labelled rows the performance judgment needs: a Poisson-binomial tail, a fast average
precision and its interval."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from rollgate.gate import stats
from rollgate.monitor.policy import Policy


def poisson_binomial_p(observed: int, probabilities: np.ndarray, level_variance: float = 0.0) -> tuple[float, float]:
    """z = (observed - Σp) / sd and the two-sided p-value of the refined normal approximation, sd² the
    Poisson-binomial variance Σ p(1-p) plus `level_variance` (the uncertainty of the calibration's level)."""
    mean = float(probabilities.sum())
    var = float(np.sum(probabilities * (1 - probabilities))) + level_variance
    if var <= 0:
        return 0.0, 1.0 if round(mean) == observed else 0.0
    sd = math.sqrt(var)
    skew = float(np.sum(probabilities * (1 - probabilities) * (1 - 2 * probabilities))) / sd**3

    def cdf(k: float) -> float:  # P(X <= k)
        x = (k + 0.5 - mean) / sd
        return float(np.clip(sps.norm.cdf(x) + skew * (1 - x**2) * sps.norm.pdf(x) / 6, 0.0, 1.0))

    tail = min(cdf(observed), 1.0 - cdf(observed - 1))
    return (observed - mean) / sd, min(1.0, 2 * tail)


def average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Average precision as scikit-learn defines it (a step per distinct score), in one sort and no checks,
    so the bootstrap can afford hundreds of them."""
    order = np.argsort(-s, kind="stable")
    ranked, hits = s[order], y[order]
    last = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), len(ranked) - 1]  # last row of each distinct score
    tp = np.cumsum(hits)[last].astype(np.float64)
    if tp[-1] == 0:
        return math.nan
    precision, recall = tp / (last + 1), tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _stratified(y: np.ndarray, rows: int, seed: int) -> np.ndarray:
    """A seeded subsample of about `rows` rows that keeps the share of positives."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    k = max(2, round(rows * len(pos) / len(y)))
    return np.sort(np.r_[rng.choice(pos, k, replace=False), rng.choice(neg, rows - k, replace=False)])


def ap_interval(y: np.ndarray, s: np.ndarray, policy: Policy) -> tuple[float, tuple[float, float], str]:
    """Average precision, its two-sided interval at the policy's confidence, and the method used."""
    ap = average_precision(y, s)
    rows = min(len(y), policy.ap_bootstrap_rows)
    picked = np.arange(len(y)) if rows == len(y) else _stratified(y, rows, policy.seed)
    one = stats.bootstrap(
        y[picked], champion=s[picked], challenger=s[picked], metric=average_precision,
        confidence=(1 + policy.confidence) / 2, resamples=policy.resamples, seed=policy.seed,
    )  # fmt: skip
    if rows == len(y):
        return ap, one.challenger_interval, f"bootstrap ({policy.resamples})"
    scale = math.sqrt(rows / len(y))
    low, high = one.challenger_interval
    interval = (ap - (one.challenger - low) * scale, ap + (high - one.challenger) * scale)
    return ap, interval, f"bootstrap ({policy.resamples}) of {rows} rows, scaled by sqrt({rows}/{len(y)})"
