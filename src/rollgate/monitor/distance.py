"""Distances between a window's bin counts and the reference's, and their p-values.

PSI floors each share at `epsilon` (default 1e-4) so an empty bin counts as a tiny share instead of
making the index infinite; shares are not renormalised after flooring (as in `rollgate.report.shift`).

Significance uses two-sample tests, since the reference is a sample too: Pearson's χ² test of
homogeneity on the 2 x B table of counts (bins whose expected count in the smaller sample is under
`min_expected`, default 5, are pooled first — Cochran's rule — so rare categories in a small window
cannot fake a huge χ²), and the Kolmogorov-Smirnov distance with Smirnov's asymptotic distribution at
the effective size n·m/(n+m), as `scipy.stats.ks_2samp(method="asymp")` does.

Both nulls can be widened by a dispersion factor φ ≥ 1 (see `reference.WeekSpread`): the χ² statistic
is divided by φ, and D by √φ, before the tail probability is taken.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

EPSILON = 1e-4
MIN_EXPECTED = 5.0


def psi(reference: np.ndarray, current: np.ndarray, epsilon: float = EPSILON) -> float:
    """Population stability index of two count (or share) vectors over the same bins."""
    a = np.clip(reference / max(reference.sum(), 1), epsilon, None)
    b = np.clip(current / max(current.sum(), 1), epsilon, None)
    return float(np.sum((b - a) * np.log(b / a)))


def _pool_sparse(ref: np.ndarray, cur: np.ndarray, min_expected: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge the bins whose expected count in the smaller sample is under `min_expected` into one; if that
    bin is still too small, into the smallest bin left."""
    size = min(ref.sum(), cur.sum())
    pooled = (ref + cur) / (ref.sum() + cur.sum())
    small = pooled * size < min_expected
    if not small.any():
        return ref, cur
    merged = np.array([ref[small].sum(), cur[small].sum()])
    ref, cur, pooled = ref[~small], cur[~small], pooled[~small]
    if len(ref) and merged.sum() / (ref.sum() + cur.sum() + merged.sum()) * size < min_expected:
        j = int(np.argmin(pooled))
        ref[j], cur[j] = ref[j] + merged[0], cur[j] + merged[1]
        return ref, cur
    return np.append(ref, merged[0]), np.append(cur, merged[1])


def chi2_homogeneity(
    reference: np.ndarray, current: np.ndarray, min_expected: float = MIN_EXPECTED
) -> tuple[float, int]:
    """Pearson's χ² statistic of the 2 x B table and its degrees of freedom (0 when nothing to compare)."""
    ref, cur = reference.astype(np.float64), current.astype(np.float64)
    if ref.sum() == 0 or cur.sum() == 0:
        return 0.0, 0
    used = (ref + cur) > 0
    ref, cur = _pool_sparse(ref[used], cur[used], min_expected)
    if len(ref) < 2:
        return 0.0, 0
    total = ref + cur
    share_ref = ref.sum() / (ref.sum() + cur.sum())
    e_ref, e_cur = total * share_ref, total * (1 - share_ref)
    statistic = float(np.sum((ref - e_ref) ** 2 / e_ref + (cur - e_cur) ** 2 / e_cur))
    return statistic, len(ref) - 1


def chi2_p(statistic: float, df: int, dispersion: float = 1.0) -> float:
    """Upper tail of χ²(df) at statistic / φ (1 when df is 0)."""
    return float(sps.chi2.sf(statistic / dispersion, df)) if df > 0 else 1.0


def ks_distance(current_cdf: np.ndarray, reference_cdf: np.ndarray) -> float:
    """The largest gap between two CDFs evaluated at the same points."""
    return float(np.max(np.abs(current_cdf - reference_cdf))) if len(current_cdf) else 0.0


def effective_rows(n: float, m: float) -> float:
    """n·m/(n+m): the sample size a two-sample statistic behaves like."""
    return n * m / (n + m) if n > 0 and m > 0 else 0.0


def ks_p(distance: float, n: int, m: int, dispersion: float = 1.0) -> float:
    """Two-sided p-value of a two-sample KS distance D (Smirnov's asymptotic form), D taken as D / √φ."""
    en = round(effective_rows(n, m))
    if en < 1:
        return 1.0
    return float(np.clip(sps.kstwo.sf(distance / math.sqrt(dispersion), en), 0.0, 1.0))


def folded_rate_ratio(x: float, n: float, y: float, m: float) -> float:
    """max(r, 1/r) for r = (x/n) / (y/m), with half a count added to both counts when either is zero
    (Haldane), so "none flagged" has a finite ratio."""
    if x <= 0 or y <= 0:
        x, y = x + 0.5, y + 0.5
    ratio = (x / n) / (y / m)
    return max(ratio, 1 / ratio)
