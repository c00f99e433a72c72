"""Input drift of one window against the reference, feature by feature.

Numeric features get two tests: PSI on the reference deciles (effect) with the χ² test of homogeneity
on the same bin counts (significance), and the KS distance D (effect) with its own p-value. D is taken
against the reference's KS sketch (its CDF at ~1,000 quantiles) rather than against raw training rows,
which the baseline does not keep: on the sketch D can be at most about 1/1000 below the exact
two-sample D (exact when the feature has fewer distinct values than sketch points), 50 times under the
moderate floor, and the p-value uses the reference's full row count — so the test is, if anything,
slightly conservative. PSI misses a scale change that D catches (the research's 1.3-fold amounts: PSI
0.049, D 0.096), and D is blind to a change inside one decile that PSI sees, so both are kept.
Categorical features get PSI and χ² over their categories plus "unseen".

All tests of the window form one Holm family at its alpha; a feature drifts when one of its tests is
significant and its effect is at least moderate. Both nulls are widened by the training weeks'
dispersion φ = 1 + τ²·n·m/(n+m) (see `reference`): at full traffic the i.i.d. null under-covers real
week-to-week variation; on a small sample φ is close to 1 and the plain test applies. When the
window is much larger than the reference, the reference's own sampling noise dominates the null and
is the same every week, so successive weeks' p-values move together; the effect floors, far above
that noise, are what keep such windows quiet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rollgate.monitor import binning, distance, inputs
from rollgate.monitor.baseline import FeatureReference, Reference
from rollgate.monitor.findings import Family, Finding, judge
from rollgate.monitor.policy import DEFAULT_ALPHAS, DEFAULT_POLICY, Alphas, Policy


def _chi2_finding(feature: FeatureReference, current: np.ndarray, policy: Policy) -> Finding:
    reference = np.array(feature.counts)
    n, m = int(current.sum()), int(reference.sum())
    statistic, df = distance.chi2_homogeneity(reference, current, policy.min_expected)
    phi = feature.spread.chi2_dispersion(distance.effective_rows(n, m))
    p = distance.chi2_p(statistic, df, phi)
    psi = distance.psi(reference, current, policy.epsilon)
    return Finding("drift", feature.name, "chi2", statistic, p, "psi", psi, policy.psi, n, m, phi)


def _ks_finding(feature: FeatureReference, values: np.ndarray, policy: Policy) -> Finding:
    grid = np.array(feature.grid)
    positions = binning.grid_positions(values, grid)
    n, m = len(positions), feature.present
    if n == 0:  # every value missing: the χ² test's missing bin says so
        return Finding("drift", feature.name, "ks", 0.0, 1.0, "ks_d", 0.0, policy.ks, 0, m)
    cdf = np.cumsum(np.bincount(positions, minlength=len(grid) + 1))[: len(grid)] / n
    d = distance.ks_distance(cdf, np.array(feature.grid_cdf))
    phi = feature.spread.ks_dispersion(distance.effective_rows(n, m))
    return Finding("drift", feature.name, "ks", d, distance.ks_p(d, n, m, phi), "ks_d", d, policy.ks, n, m, phi)


def feature_findings(current: pd.DataFrame, feature: FeatureReference, window: str, policy: Policy) -> list[Finding]:
    """The unjudged tests of one feature (two for a numeric feature, one for a categorical one)."""
    if feature.kind == "numeric":
        values = inputs.numeric_column(current, feature.name, window)
        codes = binning.numeric_codes(values, np.array(feature.edges))
        counts = binning.counts(codes, len(feature.counts))
        return [_chi2_finding(feature, counts, policy), _ks_finding(feature, values, policy)]
    codes = binning.categorical_codes(current[feature.name], feature.categories)
    return [_chi2_finding(feature, binning.counts(codes, len(feature.counts)), policy)]


def feature_drift(
    current: pd.DataFrame,
    reference: Reference,
    *,
    window: str,
    alphas: Alphas = DEFAULT_ALPHAS,
    policy: Policy = DEFAULT_POLICY,
) -> Family:
    """Every reference feature of `current` tested against the reference, judged as one Holm family."""
    inputs.require_rows(current, window)
    inputs.require_columns(current, [f.name for f in reference.features], window)
    findings = [f for feature in reference.features for f in feature_findings(current, feature, window, policy)]
    return judge("drift", findings, alphas.drift, policy.alarm_level)


def drifted(family: Family) -> dict[str, str]:
    """Drifted features and their level (the larger of their alarming tests')."""
    out: dict[str, str] = {}
    for f in family.alarms:
        if out.get(f.subject) != "major":
            out[f.subject] = f.level
    return out
