"""Holdout metrics, per-segment metrics and plot data: pure functions of labels and scores."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from rollgate.contracts.errors import RollgateError

# The headline metric names (DVC metrics keys, MLflow metric names, gate policy keys).
ROC_AUC = "roc_auc"
AVERAGE_PRECISION = "average_precision"
RECALL_AT_FPR = "recall_at_fpr"
BRIER = "brier"
THRESHOLD_AT_FPR = "threshold_at_fpr"
HEADLINE = (ROC_AUC, AVERAGE_PRECISION, RECALL_AT_FPR, BRIER)


@dataclass(frozen=True)
class Operating:
    """Recall and score threshold at the largest false-positive rate not above the target."""

    recall: float
    threshold: float
    fpr: float


def _both_classes(y: np.ndarray, where: str) -> None:
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        raise RollgateError(f"{where}: labels have one class only ({positives} positives in {len(y)} rows)")


def operating_point(y: np.ndarray, scores: np.ndarray, fpr_target: float) -> Operating:
    fpr, tpr, thresholds = skm.roc_curve(y, scores)
    i = int(np.searchsorted(fpr, fpr_target, side="right") - 1)
    return Operating(recall=float(tpr[i]), threshold=float(min(thresholds[i], 1.0)), fpr=float(fpr[i]))


def headline(y: np.ndarray, scores: np.ndarray, fpr_target: float, where: str = "holdout") -> dict[str, float]:
    """The holdout metrics the pipeline reports and the gate judges."""
    _both_classes(y, where)
    op = operating_point(y, scores, fpr_target)
    out = {
        ROC_AUC: float(skm.roc_auc_score(y, scores)),
        AVERAGE_PRECISION: float(skm.average_precision_score(y, scores)),
        RECALL_AT_FPR: op.recall,
        BRIER: float(skm.brier_score_loss(y, scores)),
        THRESHOLD_AT_FPR: op.threshold,
    }
    bad = [k for k, v in out.items() if not math.isfinite(v)]
    if bad:
        raise RollgateError(f"{where}: metrics came out non-finite: {bad}")
    return out


def segments(
    frame: pd.DataFrame,
    y: np.ndarray,
    scores: np.ndarray,
    *,
    columns: tuple[str, ...],
    min_size: int,
    fpr_target: float,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per-segment size, positives and metrics; segments too small or with one class are not judged."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for column in columns:
        if column not in frame.columns:
            raise RollgateError(f"params.yaml: evaluate.segment_columns: no column {column!r} in the holdout")
        out[column] = {}
        for value, idx in sorted(frame.groupby(column, sort=True).indices.items()):
            ys, ss = y[idx], scores[idx]
            positives = int(ys.sum())
            entry: dict[str, Any] = {"rows": len(idx), "positives": positives}
            judged = len(idx) >= min_size and 0 < positives < len(idx)
            entry["judged"] = judged
            if judged:
                entry[ROC_AUC] = float(skm.roc_auc_score(ys, ss))
                entry[AVERAGE_PRECISION] = float(skm.average_precision_score(ys, ss))
                entry[RECALL_AT_FPR] = operating_point(ys, ss, fpr_target).recall
            out[column][str(value)] = entry
    return out


def _thin(points: list[dict[str, float]], limit: int = 400) -> list[dict[str, float]]:
    """Keep plots small in git: at most `limit` evenly spaced points (always the endpoints)."""
    if len(points) <= limit:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))
    return [points[i] for i in keep]


def plots(y: np.ndarray, scores: np.ndarray, threshold: float, bins: int) -> dict[str, list[dict[str, Any]]]:
    """Data for DVC plots: ROC, precision-recall, calibration (reliability) and the confusion matrix."""
    fpr, tpr, _ = skm.roc_curve(y, scores)
    precision, recall, _ = skm.precision_recall_curve(y, scores)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    calibration = [
        {
            "bin": int(b),
            "mean_predicted": float(scores[which == b].mean()),
            "fraction_positive": float(y[which == b].mean()),
            "rows": int((which == b).sum()),
        }
        for b in range(bins)
        if (which == b).any()
    ]
    predicted = (scores >= threshold).astype(int)
    confusion = [{"actual": str(int(a)), "predicted": str(int(p))} for a, p in zip(y, predicted, strict=True)]
    return {
        "roc": _thin([{"fpr": round(float(f), 6), "tpr": round(float(t), 6)} for f, t in zip(fpr, tpr, strict=True)]),
        "precision_recall": _thin(
            [
                {"recall": round(float(r), 6), "precision": round(float(p), 6)}
                for r, p in zip(recall, precision, strict=True)
            ]
        ),
        "calibration": calibration,
        "confusion": confusion,
    }
