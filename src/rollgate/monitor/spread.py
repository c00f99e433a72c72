"""The week-to-week spread of the drift statistics over the training weeks.

Drift statistics assume i.i.d. rows, but real weeks differ from each other by more than sampling
noise (seasonality, campaigns, a mix of clients), so i.i.d. nulls under-cover, and more so the bigger
the window. We model a week's bin shares as the long-run shares plus a week effect of variance τ² per
unit of the sampling variance times the effective rows: a window of n rows against m reference rows
then has E[χ²/df] ≈ 1 + τ²·h with h = n·m/(n+m). Sampling noise shrinks with rows, the week effect
does not, which is why a full-traffic window needs the widening and a 1 % log hardly does.

τ² is estimated by moments over the training weeks, each against all the others:
τ² = max(0, Σ_w (χ²_w/df_w - 1)) / Σ_w h_w; for KS the same with h·D² / (π²/12) (π²/12 is the mean
of the squared Kolmogorov variable under i.i.d. sampling). Monitoring divides a window's χ² by
φ = 1 + τ²·h (and D by √φ), so φ ≥ 1: the null is never narrowed below i.i.d. theory. With a single
training week there is nothing to compare, τ² = 0, and the nulls are the i.i.d. ones. Estimated from
a handful of weeks, τ² is noisy, and a window much bigger than a training week extrapolates that
noise (φ at n·m/(n+m) rows), so τ² is used only when the weeks x bins χ² test finds the weeks
heterogeneous (p < `heterogeneity_alpha`, default 0.05): steady training weeks give the i.i.d. nulls,
not a randomly widened one.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from rollgate.monitor import distance
from rollgate.monitor.baseline import WeekSpread
from rollgate.monitor.policy import ReferenceSettings

KS_SQUARED_MEAN = math.pi**2 / 12


def _excess(ratios: list[float], sizes: list[float]) -> float:
    """Moments estimate of τ² from E[ratio] = 1 + τ²·size."""
    return float(max(0.0, sum(r - 1 for r in ratios)) / sum(sizes)) if sizes and sum(sizes) > 0 else 0.0


def ks_spread(positions: np.ndarray, weeks: np.ndarray, n_weeks: int, grid_cdf_len: int) -> tuple[list[float], float]:
    """KS distance of each week against the others on the sketch, and its τ²."""
    width = grid_cdf_len + 1
    table = np.bincount(weeks * width + positions, minlength=n_weeks * width).reshape(n_weeks, width)
    cum = np.cumsum(table, axis=1)[:, :grid_cdf_len].astype(np.float64)
    rows = table.sum(axis=1).astype(np.float64)
    total, n = cum.sum(axis=0), rows.sum()
    ok = (rows > 0) & (rows < n)
    if not ok.any():
        return [], 0.0
    own = cum[ok] / rows[ok, None]
    rest = (total - cum[ok]) / (n - rows[ok, None])
    d = np.max(np.abs(own - rest), axis=1)
    h = rows[ok] * (n - rows[ok]) / n
    return [float(v) for v in d], _excess(list(h * d**2 / KS_SQUARED_MEAN), list(h))


def homogeneity_p(table: np.ndarray, min_expected: float) -> float:
    """p-value of the weeks x bins χ² test that every week has the same bin shares (bins averaging
    fewer than `min_expected` rows a week are pooled into one)."""
    total = table.sum(axis=0)
    sparse = total < min_expected * len(table)
    columns = table[:, ~sparse]
    if sparse.any():
        columns = np.column_stack([columns, table[:, sparse].sum(axis=1)])
    columns = columns[:, columns.sum(axis=0) > 0]
    if columns.shape[1] < 2:
        return 1.0
    return float(sps.chi2_contingency(columns, correction=False).pvalue)


def week_spread(
    codes: np.ndarray, weeks: np.ndarray, n_weeks: int, bins: int, settings: ReferenceSettings
) -> WeekSpread:
    """PSI and χ² of each training week against all the others, the weeks' homogeneity p-value, and
    the χ² excess τ² (0 unless the weeks are heterogeneous at `heterogeneity_alpha`)."""
    if n_weeks < 2:
        return WeekSpread()
    table = np.bincount(weeks * bins + codes, minlength=n_weeks * bins).reshape(n_weeks, bins)
    p_weeks = homogeneity_p(table, settings.min_expected)
    total = table.sum(axis=0)
    psi, chi2, df, ratios, sizes = [], [], [], [], []
    for week in table:
        rest = total - week
        psi.append(distance.psi(rest, week, settings.epsilon))
        statistic, dof = distance.chi2_homogeneity(rest, week, settings.min_expected)
        chi2.append(statistic)
        df.append(dof)
        if dof > 0:
            ratios.append(statistic / dof)
            sizes.append(distance.effective_rows(week.sum(), rest.sum()))
    excess = _excess(ratios, sizes) if p_weeks < settings.heterogeneity_alpha else 0.0
    return WeekSpread(tuple(psi), tuple(chi2), tuple(df), chi2_excess=excess, homogeneity_p=p_weeks)
