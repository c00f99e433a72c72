"""Performance without labels (confidence-based estimation): what the calibrated scores say to expect.

Each row's calibrated score p_i (the holdout's isotonic map) is taken as the probability that it is
positive, labels independent. Expected positives: Σ p_i, variance Σ p_i (1 - p_i) (Poisson-binomial)
plus the calibration level's own uncertainty (`scores.level_variance`), band ± z·sd.

Expected ROC AUC. AUC = C / (n+ · n-), C the concordant (positive, negative) pairs, ties counting ½.
With y_i ~ Bernoulli(p_i), a pair of distinct rows (i, j) is (positive i, negative j) with probability
p_i (1 - p_j), so
    E[C] = Σ_{i≠j} p_i (1 - p_j) · ([s_i > s_j] + ½ [s_i = s_j]),   E[n+ n-] = Σ_{i≠j} p_i (1 - p_j),
and the estimate is E[C] / E[n+ n-] (the ratio of expectations, which differs from E[AUC] by O(1/n);
NannyML's CBPE computes the same ratio but lets a row pair with itself). In O(n log n): sort by raw
score, group equal scores g with P_g = Σ p, Q_g = Σ (1 - p), W_g = Σ p (1 - p); then
    E[C] = Σ_g P_g · (Σ_{h below g} Q_h) + ½ Σ_g (P_g Q_g - W_g),   E[n+ n-] = (Σ p)(Σ (1 - p)) - Σ W_g.

The band is a parametric bootstrap: `draws` (default 200, seeded) label vectors drawn from the p_i,
each one's realized AUC from the midranks of the scores (computed once). Its spread is how far the
realized AUC of this window may fall from the estimate by label noise alone; it does not include
the calibration map's own error, and, like all such estimates, it assumes P(y | x) has not changed
(concept drift shows only once labels arrive). The alarm: the estimate below the holdout's AUC,
z = (estimate - holdout) / √(sd² + se_holdout²), one-sided, and a drop of at least `auc_drop`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from rollgate.monitor import inputs
from rollgate.monitor.findings import Family, Finding, judge, not_judged
from rollgate.monitor.jsonsafe import number
from rollgate.monitor.policy import DEFAULT_ALPHAS, DEFAULT_POLICY, Alphas, Policy
from rollgate.monitor.scores import ScoreReference, calibrate, level_variance

_CHUNK = 8_000_000  # random numbers per bootstrap chunk (32 MB of float32)


def expected_auc(scores: np.ndarray, probabilities: np.ndarray) -> float:
    """E[C] / E[n+ n-] of the rows' scores when row i is positive with probability p_i."""
    order = np.argsort(scores, kind="stable")
    s, p = scores[order], probabilities[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos, neg, both = (np.add.reduceat(v, starts) for v in (p, 1 - p, p * (1 - p)))
    below = np.cumsum(neg) - neg
    concordant = float(np.sum(pos * below) + 0.5 * np.sum(pos * neg - both))
    pairs = float(pos.sum() * neg.sum() - both.sum())
    return concordant / pairs if pairs > 0 else math.nan


def drawn_aucs(scores: np.ndarray, probabilities: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """Realized AUCs of `draws` label vectors drawn from the probabilities (draws with one class dropped).

    Each AUC is (R - P(P+1)/2) / (P(n-P)), R the sum of the positives' midranks and P their count. The
    uniforms are float32 (a probability's rounding error, about 1e-8, is far below any band); the rank
    sums are float64."""
    rng = np.random.default_rng(seed)
    ranks = sps.rankdata(scores)
    p32 = probabilities.astype(np.float32)
    n = len(scores)
    per_chunk = max(1, _CHUNK // n)
    uniforms, drawn = np.empty((per_chunk, n), dtype=np.float32), np.empty((per_chunk, n), dtype=bool)
    out = []
    for start in range(0, draws, per_chunk):
        k = min(per_chunk, draws - start)
        rng.random(out=uniforms[:k], dtype=np.float32)
        np.less(uniforms[:k], p32, out=drawn[:k])
        hits = np.flatnonzero(drawn[:k])
        draw = hits // n
        positives = np.bincount(draw, minlength=k).astype(np.float64)
        rank_sums = np.bincount(draw, weights=ranks[hits - draw * n], minlength=k)
        ok = (positives > 0) & (positives < n)
        pos = positives[ok]
        out.append((rank_sums[ok] - pos * (pos + 1) / 2) / (pos * (n - pos)))
    return np.concatenate(out)


@dataclass(frozen=True)
class LabelFree:
    """The label-free estimate for one window and its judgment (the `label_free` family)."""

    rows: int
    expected_positives: float
    expected_positives_band: tuple[float, float]
    roc_auc: float
    roc_auc_band: tuple[float, float]
    roc_auc_sd: float
    draws: int
    family: Family

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "expected_positives": number(self.expected_positives),
            "expected_positives_band": [number(v) for v in self.expected_positives_band],
            "roc_auc": number(self.roc_auc),
            "roc_auc_band": [number(v) for v in self.roc_auc_band],
            "roc_auc_sd": number(self.roc_auc_sd),
            "draws": self.draws,
        }


def label_free(
    scores: np.ndarray,
    reference: ScoreReference,
    *,
    window: str,
    alphas: Alphas = DEFAULT_ALPHAS,
    policy: Policy = DEFAULT_POLICY,
) -> LabelFree:
    """Expected positives and expected ROC AUC of one window, with bands, judged against the holdout."""
    s = inputs.finite_scores(scores, window)
    p = calibrate(s, reference)
    mean = float(p.sum())
    sd = math.sqrt(float(np.sum(p * (1 - p))) + level_variance(mean, reference))
    z = float(sps.norm.ppf((1 + policy.confidence) / 2))
    band = (mean - z * sd, mean + z * sd)
    if min(mean, len(s) - mean) < policy.min_positives:
        reason = f"{mean:.1f} expected positives of {len(s)} rows: fewer than {policy.min_positives} of a class"
        family = not_judged("label_free", alphas.label_free, reason)
        return LabelFree(len(s), mean, band, math.nan, (math.nan, math.nan), math.nan, 0, family)
    auc = expected_auc(s, p)
    aucs = drawn_aucs(s, p, policy.draws, policy.seed)
    spread = float(np.std(aucs, ddof=1))
    lo, hi = np.quantile(aucs, [(1 - policy.confidence) / 2, (1 + policy.confidence) / 2])
    se = math.sqrt(spread**2 + reference.roc_auc_se**2)
    statistic = (auc - reference.roc_auc) / se if se > 0 else 0.0
    finding = Finding(
        "label_free", "roc_auc", "z", statistic, float(sps.norm.cdf(statistic)), "auc_drop",
        reference.roc_auc - auc, policy.auc_drop, len(s), reference.rows,
    )  # fmt: skip
    family = judge("label_free", [finding], alphas.label_free, policy.alarm_level)
    return LabelFree(len(s), mean, band, auc, (float(lo), float(hi)), spread, len(aucs), family)
