"""Stage `evaluate` and its core: the metrics agree with their definitions on a holdout whose scores
are known, the files it writes match their schemas, and bad input is refused with state kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn import metrics as skm

from rollgate.contracts import baseline, jsonio, paths, reports
from rollgate.contracts.errors import RollgateError
from rollgate.data.schema import DATASET
from rollgate.model import metrics as m
from rollgate.model.evaluation import Holdout, evaluate
from rollgate.params import EvaluateParams
from tests import fixed_params
from tests.helpers import Project, assert_refused, copy_project


class Scores:
    """A model whose score for a row is the row's `x`: the metrics can be computed by hand."""

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        x = frame["x"].to_numpy(dtype=float)
        return np.column_stack([1 - x, x])


def _holdout(rows: int = 2_000, seed: int = 3) -> Holdout:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.2).astype(int)
    x = np.clip(0.3 * y + rng.normal(0.35, 0.2, rows), 0.0, 1.0)
    frame = pd.DataFrame({"x": x, "segment": np.where(np.arange(rows) % 4 == 0, "small", "large")})
    return Holdout(frame, y, "holdout.parquet")


PARAMS = fixed_params.evaluate(segment_columns=["segment"], min_segment_size=600, latency_rows=50, latency_repeats=2)


@pytest.mark.unit
def test_headline_metrics_match_their_definitions() -> None:
    holdout = _holdout()
    result = evaluate(Scores(), ["x"], "ab" * 32, holdout, PARAMS)
    s, x, y = result.summary, holdout.frame["x"].to_numpy(), holdout.y
    assert s[m.ROC_AUC] == round(skm.roc_auc_score(y, x), 6)
    assert s[m.AVERAGE_PRECISION] == round(skm.average_precision_score(y, x), 6)
    assert s[m.BRIER] == round(float(np.mean((x - y) ** 2)), 6)
    # recall at the target false-positive rate: the share of positives scored at or above the threshold,
    # where the threshold lets through no more negatives than the target allows
    threshold = s[m.THRESHOLD_AT_FPR]
    assert np.mean(x[y == 0] >= threshold) <= PARAMS.fpr_target + 1e-9
    assert s[m.RECALL_AT_FPR] == pytest.approx(np.mean(x[y == 1] >= threshold), abs=1e-6)
    assert (s["holdout_rows"], s["holdout_positives"], s["model_sha256"]) == (len(y), int(y.sum()), "ab" * 32)
    jsonio.check(s, reports.EVALUATION, "summary")  # what reports/evaluate.json must hold


@pytest.mark.unit
def test_segments_small_ones_are_listed_not_judged() -> None:
    result = evaluate(Scores(), ["x"], "0" * 64, _holdout(), PARAMS)
    small, large = result.segments["segment"]["small"], result.segments["segment"]["large"]
    assert small["rows"] == 500 and small["judged"] is False and m.ROC_AUC not in small
    assert large["rows"] == 1_500 and large["judged"] is True and 0.5 < large[m.ROC_AUC] <= 1.0


@pytest.mark.unit
def test_plots_cover_the_whole_holdout() -> None:
    holdout = _holdout()
    plots = evaluate(Scores(), ["x"], "0" * 64, holdout, PARAMS).plots
    roc = plots["roc"]
    assert (roc[0]["fpr"], roc[0]["tpr"]) == (0.0, 0.0) and (roc[-1]["fpr"], roc[-1]["tpr"]) == (1.0, 1.0)
    assert sum(b["rows"] for b in plots["calibration"]) == len(holdout.y)
    assert len(plots["confusion"]) == len(holdout.y)
    assert all(0.0 <= b["mean_predicted"] <= 1.0 for b in plots["calibration"])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("holdout", "params", "message"),
    [
        (Holdout(pd.DataFrame({"x": [0.1, 0.2], "segment": ["a", "b"]}), np.array([0, 0]), "h.parquet"),
         PARAMS, "h.parquet: labels have one class only"),
        (_holdout(), fixed_params.evaluate(segment_columns=["nope"]), "evaluate.segment_columns: no column 'nope'"),
    ],
)  # fmt: skip
def test_the_core_refuses_what_it_cannot_measure(holdout: Holdout, params: EvaluateParams, message: str) -> None:
    with pytest.raises(RollgateError, match=message):
        evaluate(Scores(), ["x"], "0" * 64, holdout, params)


KEPT = (str(paths.EVALUATE_METRICS), str(paths.SEGMENT_METRICS), str(paths.PLOT_ROC), str(paths.BASELINE))


def _segment_param(root: Path) -> None:
    params = yaml.safe_load((root / paths.PARAMS).read_text())
    params["evaluate"]["segment_columns"] = ["no_such_column"]
    (root / paths.PARAMS).write_text(yaml.safe_dump(params, sort_keys=False))


def _other_model(root: Path) -> None:
    path = root / paths.MODEL_ARTIFACT
    path.write_bytes(path.read_bytes() + b"\0")


def _one_class(root: Path) -> None:
    path = root / paths.HOLDOUT_SET
    pd.read_parquet(path).assign(**{DATASET.label: 0}).to_parquet(path, index=False)


def _no_holdout(root: Path) -> None:
    (root / paths.HOLDOUT_SET).unlink()


def _untimed_training_rows(root: Path) -> None:
    path = root / paths.TRAIN_SET
    pd.read_parquet(path).drop(columns=[DATASET.timestamp]).to_parquet(path, index=False)


CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "unknown segment column": (_segment_param, ["evaluate.segment_columns", "no_such_column"]),
    "artifact not the one in model.json": (_other_model, [str(paths.MODEL_ARTIFACT), "sha256"]),
    "holdout of one class": (_one_class, [str(paths.HOLDOUT_SET), "one class only"]),
    "no holdout": (_no_holdout, [str(paths.HOLDOUT_SET), "missing"]),
    "training rows without their time column": (_untimed_training_rows, [str(paths.TRAIN_SET), DATASET.timestamp]),
}


@pytest.mark.integration
@pytest.mark.parametrize("case", list(CASES))
def test_evaluate_refuses_bad_input_and_keeps_state(reproduced: Project, tmp_path: Path, case: str) -> None:
    corrupt, expected = CASES[case]
    assert_refused(copy_project(reproduced, tmp_path), corrupt, ("evaluate", "--no-track"), expected, KEPT)


@pytest.mark.integration
def test_the_stage_writes_what_its_readers_accept(reproduced: Project) -> None:
    root = reproduced.path
    summary = reports.read_evaluation(root / paths.EVALUATE_METRICS)
    meta = json.loads((root / paths.MODEL_METADATA).read_text())
    assert summary["model_sha256"] == meta["sha256"]
    segments = json.loads((root / paths.SEGMENT_METRICS).read_text())
    assert {name: sum(s["rows"] for s in values.values()) for name, values in segments.items()} == dict.fromkeys(
        segments, summary["holdout_rows"]
    )


@pytest.mark.integration
def test_the_baseline_is_bound_to_the_model_and_is_the_monitors_default_reference(
    reproduced: Project, tmp_path: Path
) -> None:
    root = reproduced.path
    doc = json.loads((root / paths.BASELINE).read_text())
    baseline.check(doc, str(paths.BASELINE))
    meta = json.loads((root / paths.MODEL_METADATA).read_text())
    assert doc[baseline.DIGEST] == meta["sha256"]
    kinds = {f["name"]: "categorical" if f["type"] == "category" else "numeric" for f in meta["features"]}
    assert {name: f["kind"] for name, f in doc["features"].items()} == kinds
    training = pd.read_parquet(root / paths.TRAIN_SET)
    assert doc["rows"] == len(training) and len(doc["weeks"]) == len(doc["week_rows"]) >= 2
    holdout = pd.read_parquet(root / paths.HOLDOUT_SET)
    score = doc["score"]
    assert score["metrics"]["rows"] == len(holdout) and score["metrics"]["positives"] == int(
        holdout[DATASET.label].sum()
    )
    evaluation = reports.read_evaluation(root / paths.EVALUATE_METRICS)
    assert score["threshold"] == evaluation[m.THRESHOLD_AT_FPR]
    assert score["metrics"]["roc_auc"] == pytest.approx(evaluation[m.ROC_AUC], abs=1e-6)

    out = tmp_path / "monitor"  # no --reference: the model's baseline, from the working directory
    current = root / paths.HOLDOUT_SET
    done = reproduced.rollgate("monitor", "drift", "--current", str(current), "--time-column", DATASET.timestamp,
                               "--out", str(out), check=False)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["inputs"]["reference"] == str(paths.BASELINE) and report["model_sha256"] == meta["sha256"]
