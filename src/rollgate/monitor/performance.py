"""Performance once labels have matured: realized metrics, concept drift, and the paired comparison.

Run on a cohort once, when its labels are mature (`budget.due_for_judgment`); rows whose label has
not arrived are NaN and left out. With fewer than `min_positives` (default 10) labelled positives or
negatives the cohort is "not judged" — neither a pass nor a fail.

Three families, each at its own alpha:
- realized: ROC AUC with its DeLong interval (the gate's `stats.delong`) against the holdout's AUC,
  z = (auc - holdout) / √(se² + se_holdout²), one-sided, effect the drop (floor `auc_drop`). Average
  precision is reported with the interval of the gate's class-stratified bootstrap. Above
  `ap_bootstrap_rows` labelled rows (a bootstrap of 900,000 rows would take a minute) it runs on a
  seeded class-stratified subsample of that many rows, and the interval's half-widths are scaled by
  √(m/n) around the full data's AP: at a fixed positive rate AP's variance falls as 1/n.
- positives: observed positives against Σ p of the calibrated scores (calibration in the large). Its
  tail is the Poisson-binomial's, by the refined normal approximation (Volkova 1996: the normal with
  a skewness term and continuity correction), two-sided. The calibration map's level was itself
  estimated from the holdout's P positives (isotonic regression keeps the holdout's positive rate), so
  Σ p is uncertain by a relative √((1 - rate) / P); that variance is added, or a small holdout would
  make every window look miscalibrated. Effect the ratio observed / expected folded, floors 1.25 /
  1.5. This catches concept drift that moves no input: more frauds than the scores say.
- paired: the deployed model against the previous known-good one re-scored on the same rows, the
  gate's paired DeLong; p is "the deployed model is worse", effect the AUC drop (floor `auc_drop`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from rollgate.contracts.errors import RollgateError
from rollgate.gate import stats
from rollgate.monitor import distance, inputs
from rollgate.monitor.findings import Family, Finding, judge, not_judged
from rollgate.monitor.jsonsafe import number
from rollgate.monitor.metrics import ap_interval, poisson_binomial_p
from rollgate.monitor.policy import DEFAULT_ALPHAS, DEFAULT_POLICY, Alphas, Policy
from rollgate.monitor.scores import ScoreReference, calibrate, level_variance

FAMILIES = ("realized", "positives", "paired")


@dataclass(frozen=True)
class Realized:
    """A matured cohort's realized performance and its three families."""

    labelled: int
    positives: int
    roc_auc: float = math.nan
    roc_auc_interval: tuple[float, float] = (math.nan, math.nan)
    average_precision: float = math.nan
    average_precision_interval: tuple[float, float] = (math.nan, math.nan)
    average_precision_method: str = ""
    expected_positives: float = math.nan
    previous_roc_auc: float = math.nan  # the previous known-good model on the same rows
    families: tuple[Family, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled,
            "positives": self.positives,
            "roc_auc": number(self.roc_auc),
            "roc_auc_interval": [number(v) for v in self.roc_auc_interval],
            "average_precision": number(self.average_precision),
            "average_precision_interval": [number(v) for v in self.average_precision_interval],
            "average_precision_method": self.average_precision_method,
            "expected_positives": number(self.expected_positives),
            "previous_roc_auc": number(self.previous_roc_auc),
        }


def _delong(y: np.ndarray, s: np.ndarray, previous: np.ndarray | None, policy: Policy) -> stats.Difference:
    """One paired DeLong (previous as champion, deployed as challenger); without a previous model the
    deployed model stands on both sides, which gives its own AUC and interval."""
    return stats.delong(y, s if previous is None else previous, s, confidence=(1 + policy.confidence) / 2)


def _auc_finding(d: stats.Difference, rows: int, reference: ScoreReference, policy: Policy) -> Finding:
    z = float(sps.norm.ppf((1 + policy.confidence) / 2))
    own = (d.challenger_interval[1] - d.challenger_interval[0]) / (2 * z)
    se = math.sqrt(own**2 + reference.roc_auc_se**2)
    statistic = (d.challenger - reference.roc_auc) / se if se > 0 else 0.0
    return Finding(
        "realized", "roc_auc", "z", statistic, float(sps.norm.cdf(statistic)), "auc_drop",
        reference.roc_auc - d.challenger, policy.auc_drop, rows, reference.rows,
    )  # fmt: skip


def _positives_finding(y: np.ndarray, p: np.ndarray, reference: ScoreReference, policy: Policy) -> Finding:
    observed, expected = int(y.sum()), float(p.sum())
    z, pvalue = poisson_binomial_p(observed, p, level_variance(expected, reference))
    ratio = distance.folded_rate_ratio(observed, 1, expected, 1)
    return Finding(
        "positives", "positives", "z", z, pvalue, "ratio", ratio, policy.positives_ratio, len(y), reference.rows
    )


def _paired_finding(d: stats.Difference, rows: int, policy: Policy) -> Finding:
    return Finding(
        "paired", "roc_auc", "delong", d.difference, d.p_worse, "auc_drop", -d.difference, policy.auc_drop, rows, rows
    )


def _judged(
    y: np.ndarray,
    s: np.ndarray,
    previous: np.ndarray | None,
    reference: ScoreReference,
    *,
    alphas: Alphas,
    policy: Policy,
) -> Realized:
    d = _delong(y, s, previous, policy)
    p = calibrate(s, reference)
    families = [
        judge("realized", [_auc_finding(d, len(y), reference, policy)], alphas.realized, policy.alarm_level),
        judge("positives", [_positives_finding(y, p, reference, policy)], alphas.positives, policy.alarm_level),
    ]
    if previous is None:
        families.append(not_judged("paired", alphas.paired, "no previous known-good model's scores"))
    else:
        families.append(judge("paired", [_paired_finding(d, len(y), policy)], alphas.paired, policy.alarm_level))
    ap, ap_ci, method = ap_interval(y, s, policy)
    return Realized(
        len(y), int(y.sum()), d.challenger, d.challenger_interval, ap, ap_ci, method, float(p.sum()),
        d.champion if previous is not None else math.nan,
        tuple(families),
    )  # fmt: skip


def realized_performance(
    scores: np.ndarray,
    labels: np.ndarray,
    reference: ScoreReference,
    *,
    window: str,
    previous: np.ndarray | None = None,
    alphas: Alphas = DEFAULT_ALPHAS,
    policy: Policy = DEFAULT_POLICY,
) -> Realized:
    """Realized metrics, observed vs expected positives and (given `previous`, the previous known-good
    model's scores on the same rows) the paired comparison, over the rows whose label is known."""
    s, y = inputs.finite_scores(scores, window), inputs.labels_of(labels, window)
    if len(y) != len(s) or (previous is not None and len(previous) != len(s)):
        raise RollgateError(f"window {window}: scores, labels and previous scores must be one per row")
    known = ~np.isnan(y)
    before = inputs.finite_scores(previous, window, "previous")[known] if previous is not None else None
    s, y = s[known], y[known].astype(np.int64)
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if min(positives, negatives) < policy.min_positives:
        why = f"{positives} positives and {negatives} negatives labelled: fewer than {policy.min_positives}"
        return Realized(len(y), positives, families=tuple(not_judged(f, getattr(alphas, f), why) for f in FAMILIES))
    return _judged(y, s, before, reference, alphas=alphas, policy=policy)
