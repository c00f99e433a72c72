"""Stage `evaluate`: holdout metrics, per-segment metrics, latency and plots, as DVC metrics and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from rollgate import params as params_
from rollgate.contracts import jsonio, model_metadata, paths
from rollgate.data.schema import LABEL
from rollgate.model import artifact, latency
from rollgate.model import metrics as m
from rollgate.pipeline import tracking


def run(root: Path, track: bool = True) -> dict[str, Any]:
    params = params_.load(root / paths.PARAMS)
    ev = params.evaluate
    meta = model_metadata.read(root / paths.MODEL_METADATA)
    model = artifact.loads((root / paths.MODEL_ARTIFACT).read_bytes(), meta.sha256, str(paths.MODEL_ARTIFACT))
    holdout = pd.read_parquet(root / paths.HOLDOUT_SET)
    y = holdout[LABEL].to_numpy()
    scores = model.predict_proba(holdout[meta.features.names])[:, 1]

    headline = m.headline(y, scores, ev.fpr_target, where=str(paths.HOLDOUT_SET))
    timing = latency.per_row_seconds(model, holdout[meta.features.names].head(ev.latency_rows), ev.latency_repeats)
    summary: dict[str, Any] = {
        **{k: round(v, 6) for k, v in headline.items()},
        "fpr_target": ev.fpr_target,
        "holdout_rows": len(holdout),
        "holdout_positives": int(y.sum()),
        "latency_us_per_row": round(timing["batch_seconds_per_row"] * 1e6, 3),
        "latency_ms_single_row": round(timing["single_row_seconds"] * 1e3, 3),
        "model_sha256": meta.sha256,
    }
    segments = m.segments(
        holdout, y, scores, columns=ev.segment_columns, min_size=ev.min_segment_size, fpr_target=ev.fpr_target
    )
    plots = m.plots(y, scores, headline[m.THRESHOLD_AT_FPR], ev.calibration_bins)

    jsonio.write(root / paths.EVALUATE_METRICS, summary)
    jsonio.write(root / paths.SEGMENT_METRICS, segments)
    plot_files = {
        "roc": paths.PLOT_ROC,
        "precision_recall": paths.PLOT_PR,
        "calibration": paths.PLOT_CALIBRATION,
        "confusion": paths.PLOT_CONFUSION,
    }
    for name, rel in plot_files.items():
        jsonio.write(root / rel, plots[name])
    print(
        f"evaluate: ROC AUC {summary[m.ROC_AUC]:.4f}, average precision {summary[m.AVERAGE_PRECISION]:.4f}, "
        f"recall@{ev.fpr_target:g} FPR {summary[m.RECALL_AT_FPR]:.4f}, Brier {summary[m.BRIER]:.5f}"
    )
    if track:
        numeric = {k: float(v) for k, v in summary.items() if isinstance(v, int | float)}
        files = [root / paths.EVALUATE_METRICS, root / paths.SEGMENT_METRICS]
        tracking.log_evaluation(root, meta.name, meta.sha256, numeric, files)
    return summary
