"""Stage `evaluate`: holdout metrics, per-segment metrics, latency and plots, as DVC metrics and plots."""

from __future__ import annotations

from pathlib import Path

from rollgate import params as params_
from rollgate.adapters import tracking
from rollgate.contracts import jsonio, model_metadata, paths, reports
from rollgate.data import batches
from rollgate.data.schema import DATASET
from rollgate.model import artifact
from rollgate.model.evaluation import Evaluation, Holdout, evaluate

PLOT_FILES = {
    "roc": paths.PLOT_ROC,
    "precision_recall": paths.PLOT_PR,
    "calibration": paths.PLOT_CALIBRATION,
    "confusion": paths.PLOT_CONFUSION,
}


def run(root: Path, track: bool = True) -> Evaluation:
    params = params_.load(root / paths.PARAMS, DATASET.params_columns).evaluate
    meta = model_metadata.read(root / paths.MODEL_METADATA)
    model = artifact.loads((root / paths.MODEL_ARTIFACT).read_bytes(), meta.sha256, str(paths.MODEL_ARTIFACT))
    frame = batches.read_table(root / paths.HOLDOUT_SET, [*meta.features.names, DATASET.label], str(paths.HOLDOUT_SET))
    holdout = Holdout(frame, frame[DATASET.label].to_numpy(), str(paths.HOLDOUT_SET))
    result = evaluate(model, meta.features.names, meta.sha256, holdout, params)

    reports.write_evaluation(root / paths.EVALUATE_METRICS, result.summary)
    jsonio.write(root / paths.SEGMENT_METRICS, result.segments)
    for name, rel in PLOT_FILES.items():
        jsonio.write(root / rel, result.plots[name])
    print(result.line())
    if track:
        numeric = {k: float(v) for k, v in result.summary.items() if isinstance(v, int | float)}
        files = [root / paths.EVALUATE_METRICS, root / paths.SEGMENT_METRICS]
        tracking.log_evaluation(root, meta.name, meta.sha256, numeric, files)
    return result
