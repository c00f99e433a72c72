"""Prediction drift: the window's scores against the holdout's, and its flag rate at the threshold.

Three tests form the prediction family (Holm at its alpha): PSI on the holdout's tail-dense score bins
with the χ² test on their counts, the KS distance D against the holdout's score sketch, and the flag
rate (share scored at or above the operating threshold) against the holdout's by Fisher's exact test —
exact, because at a 1 % flag rate a small window has a handful of flags and the normal approximation
would alarm on four flags where one was expected. The flag-rate effect is the ratio of the rates,
folded (max(r, 1/r)), floors 1.25 / 1.5. The holdout is one block without weeks, so these nulls are
the i.i.d. ones (φ = 1).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from rollgate.monitor import binning, distance, inputs
from rollgate.monitor.findings import Family, Finding, judge
from rollgate.monitor.policy import DEFAULT_ALPHAS, DEFAULT_POLICY, Alphas, Policy
from rollgate.monitor.scores import ScoreReference


def _distribution(s: np.ndarray, reference: ScoreReference, policy: Policy) -> list[Finding]:
    ref_counts = np.array(reference.counts)
    counts = binning.counts(binning.numeric_codes(s, np.array(reference.edges)), len(ref_counts))
    n, m = len(s), reference.rows
    chi2, df = distance.chi2_homogeneity(ref_counts, counts, policy.min_expected)
    psi = distance.psi(ref_counts, counts, policy.epsilon)
    grid = np.array(reference.grid)
    cdf = np.cumsum(np.bincount(binning.grid_positions(s, grid), minlength=len(grid) + 1))[: len(grid)] / n
    d = distance.ks_distance(cdf, np.array(reference.grid_cdf))
    return [
        Finding("prediction", "score", "chi2", chi2, distance.chi2_p(chi2, df), "psi", psi, policy.psi, n, m),
        Finding("prediction", "score", "ks", d, distance.ks_p(d, n, m), "ks_d", d, policy.ks, n, m),
    ]


def _flag_rate(s: np.ndarray, reference: ScoreReference, policy: Policy) -> Finding:
    n, m = len(s), reference.rows
    flagged = int(np.count_nonzero(s >= reference.threshold))
    table = [[flagged, n - flagged], [reference.flagged, m - reference.flagged]]
    p = 1.0 if flagged == reference.flagged == 0 else float(sps.fisher_exact(table).pvalue)
    ratio = distance.folded_rate_ratio(flagged, n, reference.flagged, m)
    return Finding("prediction", "flag_rate", "fisher", flagged / n, p, "flag_ratio", ratio, policy.flag_ratio, n, m)


def prediction_drift(
    scores: np.ndarray,
    reference: ScoreReference,
    *,
    window: str,
    alphas: Alphas = DEFAULT_ALPHAS,
    policy: Policy = DEFAULT_POLICY,
) -> Family:
    """Score distribution and flag rate of one window against the holdout, judged as one Holm family."""
    s = inputs.finite_scores(scores, window)
    findings = [*_distribution(s, reference, policy), _flag_rate(s, reference, policy)]
    return judge("prediction", findings, alphas.prediction, policy.alarm_level)
