"""The real pipeline in a temporary git repository: `dvc repro`, MLflow tracking, `dvc push`, a fresh
clone with `dvc pull` and a no-op repro, the run cache after a revert, and byte-identical retraining."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from rollgate.contracts import model_metadata
from tests.helpers import MODEL_NAME, Project, tool_env

pytestmark = pytest.mark.integration

REPRO = ("repro", "--single-item", "dvc.yaml")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.example  # the shipped example's columns
def test_outputs_lock_and_metadata(reproduced: Project) -> None:
    lock = yaml.safe_load((reproduced.path / "dvc.lock").read_text())
    assert list(lock["stages"]) == ["validate", "prepare", "train", "evaluate", "gate@prod", "gate@staging"]
    meta = model_metadata.read(reproduced.path / "models/model.json")
    assert meta.sha256 == _sha(reproduced.path / "models/model.skops")
    trained_at = reproduced.git("rev-parse", "HEAD~1").stdout.strip()
    assert meta.git.commit == trained_at and not meta.git.dirty
    assert meta.data_md5 == yaml.safe_load((reproduced.path / "data.dvc").read_text())["outs"][0]["md5"]
    evaluation = json.loads((reproduced.path / "reports/evaluate.json").read_text())
    assert 0.5 < evaluation["roc_auc"] <= 1.0
    assert evaluation["model_sha256"] == meta.sha256
    segments = json.loads((reproduced.path / "reports/segments.json").read_text())
    assert set(segments) == {"channel", "country"}
    assert sum(s["rows"] for s in segments["channel"].values()) == evaluation["holdout_rows"]
    for plot in ("roc", "precision_recall", "calibration", "confusion"):
        assert json.loads((reproduced.path / f"reports/plots/{plot}.json").read_text())
    shown = reproduced.dvc("metrics", "show", "--json").stdout
    assert "roc_auc" in shown


def test_training_run_is_tracked_in_mlflow(reproduced: Project) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(reproduced.env["MLFLOW_TRACKING_URI"])
    meta = model_metadata.read(reproduced.path / "models/model.json")
    experiment = client.get_experiment_by_name(MODEL_NAME)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], f"tags.`rollgate.model_sha256` = '{meta.sha256}'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["train.estimator"] == "hist_gradient_boosting"
    assert run.data.tags["mlflow.source.git.commit"] == meta.git.commit
    assert run.data.tags["rollgate.data_md5"] == meta.data_md5
    assert 0.5 < run.data.metrics["holdout.roc_auc"] <= 1.0
    assert run.inputs.dataset_inputs[0].dataset.digest == meta.data_md5
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "rollgate")}
    assert artifacts == {"rollgate/model.json", "rollgate/model.skops"}
    logged = client.search_logged_models([experiment.experiment_id])
    assert logged and logged[0].source_run_id == run.info.run_id


def test_push_fresh_clone_pull_and_noop_repro(reproduced: Project, tmp_path: Path) -> None:
    reproduced.dvc("push", "-q")
    reproduced.git("push", "-q", "origin", "main")
    origin = reproduced.path.parent / "origin.git"
    # Beside the project, as a second developer's checkout: the relative DVC remote is the shared one.
    base = reproduced.path.parent
    clone = Project(base / f"clone-{tmp_path.name}", tool_env(base))
    reproduced.run("git", "clone", "-q", str(origin), str(clone.path))
    clone.dvc("pull", "-q")
    done = clone.dvc(*REPRO)
    assert "Running stage" not in done.stdout, done.stdout
    assert clone.git("status", "--porcelain").stdout == ""
    assert _sha(clone.path / "models/model.skops") == _sha(reproduced.path / "models/model.skops")


def test_revert_restores_the_previous_model_from_the_run_cache(reproduced: Project) -> None:
    before = _sha(reproduced.path / "models/model.skops")
    params = yaml.safe_load((reproduced.path / "params.yaml").read_text())
    params["train"]["hist_gradient_boosting"]["max_iter"] = 30
    reproduced.write_params(params)
    changed = reproduced.dvc(*REPRO).stdout
    assert "Running stage 'train'" in changed
    assert _sha(reproduced.path / "models/model.skops") != before
    reproduced.commit("train longer")
    reproduced.git("revert", "--no-edit", "HEAD")
    restored = reproduced.dvc(*REPRO).stdout
    assert "Running stage 'train'" not in restored, restored
    assert _sha(reproduced.path / "models/model.skops") == before


def test_retraining_gives_identical_bytes(reproduced: Project) -> None:
    before = _sha(reproduced.path / "models/model.skops")
    fingerprint = model_metadata.read(reproduced.path / "models/model.json").prediction_fingerprint
    reproduced.dvc("repro", "--single-item", "--force", "train")
    assert _sha(reproduced.path / "models/model.skops") == before
    assert model_metadata.read(reproduced.path / "models/model.json").prediction_fingerprint == fingerprint
