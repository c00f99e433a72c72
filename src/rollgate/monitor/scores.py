"""The holdout's scores as a reference: their distribution, the calibration map, the holdout metrics.

The score bins are holdout quantiles dense in the top tail (50, 80, 90, 95, 98, 99, 99.5 and 99.9 %),
because a fraud model puts almost every score near zero and the alarms live in the tail. The isotonic
calibration map is fitted on the holdout's scores and labels, never on the training rows (the model
fits those too well), and is stored as its thresholds: applying it is linear interpolation between
them, clipped at the ends — exactly what `IsotonicRegression.predict` does with `out_of_bounds="clip"`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score

from rollgate.contracts.errors import RollgateError
from rollgate.gate import stats
from rollgate.monitor import binning
from rollgate.monitor.jsonsafe import edges_in, edges_out, floats, ints

SCORE_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


@dataclass(frozen=True)
class ScoreReference:
    """The holdout's score distribution, flag rate at the operating threshold, calibration and metrics."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]  # per score bin, then an always-empty "missing" bin (scores must be finite)
    grid: tuple[float, ...]
    grid_cdf: tuple[float, ...]
    threshold: float
    flagged: int  # holdout rows scored at or above the threshold
    calibration_x: tuple[float, ...]
    calibration_y: tuple[float, ...]
    positives: int
    roc_auc: float
    roc_auc_se: float  # DeLong standard error
    average_precision: float

    @property
    def rows(self) -> int:
        return sum(self.counts)

    def to_dict(self) -> dict[str, Any]:
        rows = max(self.rows, 1)
        metrics = {"rows": self.rows, "positives": self.positives, "positive_rate": self.positives / rows}
        metrics |= {"flag_rate": self.flagged / rows, "roc_auc": self.roc_auc, "roc_auc_se": self.roc_auc_se}
        return {
            "edges": edges_out(self.edges),
            "counts": list(self.counts),
            "shares": [c / rows for c in self.counts],
            "grid": list(self.grid),
            "grid_cdf": list(self.grid_cdf),
            "threshold": self.threshold,
            "flagged": self.flagged,
            "calibration": {"x": list(self.calibration_x), "y": list(self.calibration_y)},
            "metrics": metrics | {"average_precision": self.average_precision},
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ScoreReference:
        m = raw["metrics"]
        return cls(
            edges_in(raw["edges"]),
            ints(raw["counts"]),
            floats(raw["grid"]),
            floats(raw["grid_cdf"]),
            float(raw["threshold"]),
            int(raw["flagged"]),
            floats(raw["calibration"]["x"]),
            floats(raw["calibration"]["y"]),
            int(m["positives"]),
            float(m["roc_auc"]),
            float(m["roc_auc_se"]),
            float(m["average_precision"]),
        )


def calibrate(scores: np.ndarray, reference: ScoreReference) -> np.ndarray:
    """Calibrated probabilities: the holdout's isotonic map applied to raw scores."""
    calibrated: np.ndarray = np.interp(scores, reference.calibration_x, reference.calibration_y)
    return calibrated


def level_variance(expected: float, reference: ScoreReference) -> float:
    """Variance of Σ p that comes from the calibration's own level: isotonic regression keeps the
    holdout's positive rate, estimated from its P positives, so Σ p is uncertain by a relative
    √((1 - rate) / P)."""
    rate = reference.positives / reference.rows
    return expected**2 * (1 - rate) / reference.positives


def auc_se(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """ROC AUC and its DeLong standard error, from the gate's paired DeLong with one model on both sides."""
    one = stats.delong(y, scores, scores, confidence=0.975)
    return one.champion, (one.champion_interval[1] - one.champion_interval[0]) / (2 * float(sps.norm.ppf(0.975)))


def score_reference(scores: np.ndarray, labels: np.ndarray, threshold: float, points: int) -> ScoreReference:
    """The reference for a model's scores, from its holdout scores and labels (0/1)."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if len(s) != len(y) or not np.all(np.isfinite(s)):
        raise RollgateError("holdout: scores must be finite, one per label")
    if not np.isin(y, (0, 1)).all() or y.min() == y.max():
        raise RollgateError("holdout: labels must be 0 or 1, with both classes present")
    y = y.astype(np.int64)
    inner = np.unique(np.quantile(s, SCORE_LEVELS, method=binning.QUANTILE_METHOD))
    edges = np.concatenate([[-np.inf], inner, [np.inf]])
    grid, grid_cdf = binning.ks_grid(s, points)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, y)
    auc, se = auc_se(y, s)
    return ScoreReference(
        tuple(float(e) for e in edges),
        tuple(int(c) for c in binning.counts(binning.numeric_codes(s, edges), len(edges))),
        tuple(float(g) for g in grid),
        tuple(float(c) for c in grid_cdf),
        float(threshold),
        int(np.count_nonzero(s >= threshold)),
        tuple(float(v) for v in iso.X_thresholds_),
        tuple(float(v) for v in iso.y_thresholds_),
        int(y.sum()),
        auc,
        se if math.isfinite(se) else 0.0,
        float(average_precision_score(y, s)),
    )
