"""Stage `evaluate`: holdout metrics, per-segment metrics, latency and plots, as DVC metrics and plots,
and the model's monitoring baseline (`reports/baseline.json`): the training rows' reference bins, week
by week, and the holdout's scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rollgate import params as params_
from rollgate.adapters import tracking
from rollgate.contracts import baseline, jsonio, metrics, model_metadata, paths, reports
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.model_metadata import ModelMetadata
from rollgate.data import batches
from rollgate.data.schema import DATASET
from rollgate.model import artifact
from rollgate.model import metrics as m
from rollgate.model.evaluation import Evaluation, Holdout, evaluate
from rollgate.monitor import reference, windows
from rollgate.monitor.baseline import Reference

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

    reference = _baseline(root, meta, holdout, result)
    reports.write_evaluation(root / paths.EVALUATE_METRICS, result.summary)
    jsonio.write(root / paths.SEGMENT_METRICS, result.segments)
    for name, rel in PLOT_FILES.items():
        jsonio.write(root / rel, result.plots[name])
    cdf = [float(np.mean(result.scores <= le)) for le in metrics.SCORE_BUCKETS]
    baseline.write(root / paths.BASELINE, reference.to_dict(), meta.sha256, cdf)
    print(result.line())
    print(f"evaluate: baseline of {len(reference.features)} features over {len(reference.weeks)} training weeks")
    if track:
        numeric = {k: float(v) for k, v in result.summary.items() if isinstance(v, int | float)}
        files = [root / paths.EVALUATE_METRICS, root / paths.SEGMENT_METRICS]
        tracking.log_evaluation(root, meta.name, meta.sha256, numeric, files)
    return result


def _baseline(root: Path, meta: ModelMetadata, holdout: Holdout, result: Evaluation) -> Reference:
    """The reference the monitor judges live data against: the training rows split into ISO weeks by
    the dataset's time column (category features binned by category, the others by deciles), and the
    holdout's scores at the operating threshold the release record states."""
    where = str(paths.TRAIN_SET)
    training = batches.read_table(root / paths.TRAIN_SET, [*meta.features.names, DATASET.timestamp], where)
    categorical = [f.name for f in meta.features.features if f.type == "category"]
    numeric = [n for n in meta.features.names if n not in categorical]
    scored = reference.Holdout(result.scores, holdout.y.astype(int), float(result.summary[m.THRESHOLD_AT_FPR]))
    try:
        weeks = windows.iso_weeks(training, DATASET.timestamp)
        return reference.build_reference(training, weeks, numeric=numeric, categorical=categorical, holdout=scored)
    except RollgateError as e:
        raise RollgateError(f"{where}: {e}") from e
