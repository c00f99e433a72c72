"""The evidence the gate decides on, computed from scores on one holdout: pure, no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from rollgate.contracts.features import FeatureContract
from rollgate.gate import stats
from rollgate.params import GateParams


@dataclass(frozen=True)
class ModelEvidence:
    sha256: str
    metrics: dict[str, float]
    features: FeatureContract
    threshold: float | None = None  # the champion's shipped threshold (its release record's)


@dataclass(frozen=True)
class SegmentEvidence:
    column: str
    value: str
    rows: int
    positives: int
    judged: bool
    champion: float | None = None
    challenger: float | None = None
    difference: float | None = None
    p_worse: float | None = None
    p_adjusted: float | None = None


@dataclass(frozen=True)
class Latency:
    champion_seconds_per_row: float
    challenger_seconds_per_row: float

    @property
    def ratio(self) -> float:
        return self.challenger_seconds_per_row / self.champion_seconds_per_row


@dataclass(frozen=True)
class OperatingPoint:
    """Each model's flagged rows on the holdout at the threshold it ships: the champion at its release
    record's, the challenger at the one `evaluate.fpr_target` sets on this holdout."""

    champion_threshold: float
    challenger_threshold: float
    flags: stats.RateRatio


def operating_point(
    champion: np.ndarray, challenger: np.ndarray, thresholds: tuple[float, float], policy: GateParams
) -> OperatingPoint:
    """`thresholds` is (champion's, challenger's); a row is flagged when its score is at least the threshold,
    as the server labels it."""
    flags = stats.flag_rate_ratio(champion >= thresholds[0], challenger >= thresholds[1], policy.confidence)
    return OperatingPoint(thresholds[0], thresholds[1], flags)


def compare(y: np.ndarray, champion: np.ndarray, challenger: np.ndarray, policy: GateParams) -> stats.Difference:
    """The primary metric's paired difference (challenger - champion)."""
    if policy.primary_metric == "roc_auc":
        return stats.delong(y, champion, challenger, policy.confidence)

    def metric(labels: np.ndarray, scores: np.ndarray) -> float:
        return float(average_precision_score(labels, scores))

    return stats.bootstrap(
        y,
        champion=champion,
        challenger=challenger,
        metric=metric,
        confidence=policy.confidence,
        resamples=policy.resamples,
        seed=policy.seed,
    )


def segments(
    frame: pd.DataFrame, y: np.ndarray, champion: np.ndarray, challenger: np.ndarray, policy: GateParams
) -> tuple[SegmentEvidence, ...]:
    """Per-segment paired ROC AUC comparison (DeLong) with Holm-adjusted p-values across judged segments."""
    found: list[SegmentEvidence] = []
    for column in policy.segments.columns:
        for value, idx in sorted(frame.groupby(column, sort=True).indices.items()):
            ys = y[idx]
            positives = int(ys.sum())
            big = len(idx) >= policy.segments.min_size
            if not (big and policy.segments.min_positives <= positives < len(idx) - 1):
                found.append(SegmentEvidence(column, str(value), len(idx), positives, False))
                continue
            d = stats.delong(ys, champion[idx], challenger[idx], policy.confidence)
            found.append(
                SegmentEvidence(
                    column, str(value), len(idx), positives, True, d.champion, d.challenger, d.difference, d.p_worse
                )
            )
    adjusted = iter(stats.holm([s.p_worse for s in found if s.judged and s.p_worse is not None]))
    return tuple(SegmentEvidence(**{**s.__dict__, "p_adjusted": next(adjusted)}) if s.judged else s for s in found)


def non_finite(metrics: dict[str, float]) -> list[str]:
    return sorted(k for k, v in metrics.items() if not math.isfinite(v))
