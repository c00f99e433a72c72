"""Paired comparisons of two models scored on the same rows, and the helpers the gate's reasoning needs.

ROC AUC differences use DeLong's method (Sun & Xu's fast midrank form): exact enough at holdout
sizes, paired through the covariance of the two AUCs, and cheap — which is what lets `make bench-gate`
run the real decision over thousands of simulated holdouts. Other metrics (average precision) use a
paired bootstrap over holdout rows, stratified by class so every resample keeps the positive count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from rollgate.contracts.errors import RollgateError


@dataclass(frozen=True)
class Difference:
    """challenger - champion, with a one-sided lower and upper confidence bound and a p-value for
    "the challenger is worse" (small when the difference is clearly negative)."""

    champion: float
    challenger: float
    difference: float
    lower: float
    upper: float
    p_worse: float
    method: str
    champion_interval: tuple[float, float] = (math.nan, math.nan)
    challenger_interval: tuple[float, float] = (math.nan, math.nan)


def _midrank(x: np.ndarray) -> np.ndarray:
    ranks: np.ndarray = sps.rankdata(x, method="average", axis=-1)
    return ranks


def delong(y: np.ndarray, champion: np.ndarray, challenger: np.ndarray, confidence: float) -> Difference:
    """Paired DeLong test of the ROC AUC difference."""
    positive = y == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        raise RollgateError(f"DeLong needs at least 2 rows of each class (got {m} positive, {n} negative)")
    scores = np.vstack([champion, challenger])
    pos, neg = scores[:, positive], scores[:, ~positive]
    tx, ty = _midrank(pos), _midrank(neg)
    tz = _midrank(np.hstack([pos, neg]))
    aucs = tz[:, :m].sum(axis=1) / (m * n) - (m + 1) / (2 * n)
    v01 = (tz[:, :m] - tx) / n
    v10 = 1.0 - (tz[:, m:] - ty) / m
    cov = np.cov(v01) / m + np.cov(v10) / n
    variance = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    diff = float(aucs[1] - aucs[0])
    se = math.sqrt(max(variance, 0.0))
    z = float(sps.norm.ppf(confidence))
    p_worse = float(sps.norm.cdf(diff / se)) if se > 0 else (0.0 if diff < 0 else 1.0)
    half = [z * math.sqrt(max(float(cov[i, i]), 0.0)) for i in (0, 1)]
    intervals = [(float(aucs[i] - half[i]), float(aucs[i] + half[i])) for i in (0, 1)]
    return Difference(float(aucs[0]), float(aucs[1]), diff, diff - z * se, diff + z * se, p_worse, "delong", *intervals)


def bootstrap(
    y: np.ndarray,
    *,
    champion: np.ndarray,
    challenger: np.ndarray,
    metric: Callable[[np.ndarray, np.ndarray], float],
    confidence: float,
    resamples: int,
    seed: int,
) -> Difference:
    """Paired, class-stratified bootstrap of `metric(challenger) - metric(champion)` (percentile bounds)."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if len(pos) < 2 or len(neg) < 2:
        raise RollgateError(f"bootstrap needs at least 2 rows of each class (got {len(pos)}, {len(neg)})")
    values = np.empty((resamples, 2))
    for b in range(resamples):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        values[b] = metric(y[idx], champion[idx]), metric(y[idx], challenger[idx])
    diffs = values[:, 1] - values[:, 0]
    base, new = metric(y, champion), metric(y, challenger)
    q = [1 - confidence, confidence]
    lower, upper = np.quantile(diffs, q)
    p_worse = float((np.sum(diffs >= 0) + 1) / (resamples + 1))
    ci = [tuple(float(v) for v in np.quantile(values[:, i], q)) for i in (0, 1)]
    return Difference(
        base,
        new,
        new - base,
        float(lower),
        float(upper),
        p_worse,
        f"paired bootstrap ({resamples})",
        (ci[0][0], ci[0][1]),
        (ci[1][0], ci[1][1]),
    )


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    order = np.argsort(p_values)
    adjusted = np.empty(len(p_values))
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return [float(a) for a in adjusted]


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided binomial confidence interval for a rate."""
    alpha = 1 - confidence
    lower = 0.0 if successes == 0 else float(sps.beta.ppf(alpha / 2, successes, trials - successes + 1))
    upper = 1.0 if successes == trials else float(sps.beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return lower, upper


@dataclass(frozen=True)
class RateRatio:
    """How much more (or less) often one model flags rows than the other, paired on the same rows."""

    rows: int
    champion_flagged: int
    challenger_flagged: int
    discordant: int  # rows flagged by exactly one of the two
    ratio: float  # challenger's flagged share / champion's (1 when neither flags a row)
    folded_lower: float  # one-sided lower confidence bound of max(ratio, 1 / ratio)


def flag_rate_ratio(champion: np.ndarray, challenger: np.ndarray, confidence: float) -> RateRatio:
    """The ratio of two paired flag rates and a lower bound of its distance from 1, either way.

    On the log scale, with x and y rows flagged by challenger and champion and d flagged by only one,
    the delta method gives var(log ratio) = d / (x y) for paired rows. A zero count gets half a row
    (Haldane's correction) so that "flags nothing" has a finite, conservative bound.
    """
    x, y = int(challenger.sum()), int(champion.sum())
    d = int(np.count_nonzero(champion != challenger))
    if x == y == 0:
        return RateRatio(len(champion), 0, 0, 0, 1.0, 1.0)
    ratio = x / y if y else math.inf
    cx, cy, cd = (x, y, d) if x and y else (x + 0.5, y + 0.5, d + 0.5)
    spread = float(sps.norm.ppf(confidence)) * math.sqrt(cd / (cx * cy))
    lower = math.exp(max(abs(math.log(cx / cy)) - spread, 0.0))
    return RateRatio(len(champion), y, x, d, ratio, lower)
