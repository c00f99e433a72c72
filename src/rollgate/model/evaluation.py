"""The evaluate stage's core: holdout metrics, per-segment metrics, latency and plot data of one model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rollgate.model import latency
from rollgate.model import metrics as m
from rollgate.params import EvaluateParams


@dataclass(frozen=True)
class Evaluation:
    summary: dict[str, Any]  # reports/evaluate.json
    segments: dict[str, dict[str, dict[str, Any]]]  # reports/segments.json
    plots: dict[str, list[dict[str, Any]]]  # reports/plots/<name>.json
    scores: np.ndarray = field(compare=False, repr=False)  # the holdout's, in its row order

    def line(self) -> str:
        s = self.summary
        return (
            f"evaluate: ROC AUC {s[m.ROC_AUC]:.4f}, average precision {s[m.AVERAGE_PRECISION]:.4f}, "
            f"recall@{s['fpr_target']:g} FPR {s[m.RECALL_AT_FPR]:.4f}, Brier {s[m.BRIER]:.5f}"
        )


@dataclass(frozen=True)
class Holdout:
    frame: pd.DataFrame  # the model's input columns and the segment columns
    y: np.ndarray  # its labels
    where: str  # named in errors


def evaluate(model: Any, names: list[str], sha256: str, holdout: Holdout, params: EvaluateParams) -> Evaluation:
    """Score `holdout` with `model` (inputs `names`); what the evaluate stage writes."""
    y = holdout.y
    scores = model.predict_proba(holdout.frame[names])[:, 1]
    headline = m.headline(y, scores, params.fpr_target, where=holdout.where)
    timing = latency.per_row_seconds(model, holdout.frame[names].head(params.latency_rows), params.latency_repeats)
    summary: dict[str, Any] = {
        **{k: round(v, 6) for k, v in headline.items()},
        "fpr_target": params.fpr_target,
        "holdout_rows": len(holdout.frame),
        "holdout_positives": int(y.sum()),
        "latency_us_per_row": round(timing["batch_seconds_per_row"] * 1e6, 3),
        "latency_ms_single_row": round(timing["single_row_seconds"] * 1e3, 3),
        "model_sha256": sha256,
    }
    segments = m.segments(
        holdout.frame, y, scores, columns=params.segment_columns, min_size=params.min_segment_size,
        fpr_target=params.fpr_target,
    )  # fmt: skip
    plots = m.plots(y, scores, headline[m.THRESHOLD_AT_FPR], params.calibration_bins)
    return Evaluation(summary, segments, plots, np.asarray(scores, dtype=np.float64))
