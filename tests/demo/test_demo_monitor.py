"""`make demo-monitor`: the trained model's log of the weeks after training, with labels arriving late,
judged against the model's baseline: a shift alarms, no shift does not, the matured weeks get their
realized AUC beside the estimate, and bad input is one line naming what to fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollgate import cli
from rollgate.contracts import baseline, paths
from rollgate.data.example import generate
from rollgate.data.schema import DATASET
from rollgate.demo import monitoring
from rollgate.monitor import reference, windows
from tests.tiny_model import TinyModel, train_tiny

pytestmark = pytest.mark.integration


def _baseline(model: TinyModel, training: pd.DataFrame, holdout: pd.DataFrame, path: Path) -> None:
    """The model's baseline as the evaluate stage writes it: the training weeks' bins, the holdout's scores."""
    categorical = [f.name for f in model.contract.features if f.type == "category"]
    numeric = [n for n in model.contract.names if n not in categorical]
    rows = json.loads(holdout[model.contract.names].to_json(orient="records"))
    scored = reference.Holdout(np.array(model.scores(rows)), holdout[DATASET.label].to_numpy(), 0.5)
    weeks = windows.iso_weeks(training, DATASET.timestamp)
    built = reference.build_reference(training, weeks, numeric=numeric, categorical=categorical, holdout=scored)
    baseline.write(path, built.to_dict(), model.sha256)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with a trained model in models/ and its baseline in reports/, of the example's 12 weeks."""
    model: TinyModel = train_tiny(tmp_path_factory, iterations=10)
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(model.path.parent, root / paths.MODEL_ARTIFACT.parent)
    weeks = pd.concat([generate.generate_week(w) for w in range(12)], ignore_index=True)
    (root / paths.BASELINE).parent.mkdir(parents=True)
    _baseline(model, weeks, generate.generate_week(11, seed=7), root / paths.BASELINE)
    return root


@pytest.mark.parametrize(("shift", "code"), [("none", 0), ("amount_inflation", 1)])
def test_a_shift_alarms_and_no_shift_does_not(project: Path, shift: str, code: int) -> None:
    assert cli.main(["--root", str(project), "demo", "--monitor", shift]) == code
    out = project / ".demo" / "monitor" / "report"
    report = json.loads((out / "report.json").read_text())
    assert len(report["windows"]) == monitoring.WEEKS
    findings = [f for w in report["windows"] for family in w["families"].values() for f in family["findings"]]
    drifted = {f["subject"] for f in findings if f["alarm"]}
    assert ("amount" in drifted) == (shift == "amount_inflation"), drifted
    assert (out / "report.md").read_text().startswith("## Monitor:")
    assert (out / "charts" / "feature-amount.png").is_file() and (out / "charts" / "performance.png").is_file()


def test_the_matured_weeks_get_their_realized_auc_and_the_rest_wait(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--root", str(project), "demo", "--monitor", "none"]) == 0
    report = json.loads((project / ".demo" / "monitor" / "report" / "report.json").read_text())
    cohorts = [w["cohort"] for w in report["windows"]]
    assert cohorts[0] == "judged" and cohorts[-1] == "waiting" and set(cohorts) == {"judged", "waiting"}
    assert cohorts == sorted(cohorts)  # the oldest weeks have matured, the newest are maturing
    for w in report["windows"]:
        assert w["label_free"]["roc_auc"] is not None
        assert (w["performance"] is not None) == (w["cohort"] == "judged")
    printed = capsys.readouterr().out
    assert "realized labels maturing" in printed and printed.count("estimated AUC") == monitoring.WEEKS


def test_no_baseline_beside_the_model_is_one_line_and_exit_2(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(project / paths.MODEL_ARTIFACT.parent, bare / paths.MODEL_ARTIFACT.parent)
    assert cli.main(["--root", str(bare), "demo", "--monitor", "none"]) == 2
    assert f"{bare / paths.BASELINE}: no baseline beside the model" in capsys.readouterr().err
    assert not (bare / ".demo").exists()


def test_a_bad_shift_or_no_model_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path), "demo", "--monitor", "sideways"]) == 2
    assert "unknown shift 'sideways': one of none, amount_inflation" in capsys.readouterr().err
    assert cli.main(["--root", str(tmp_path), "demo", "--monitor", "none"]) == 2
    assert "no trained model in models/" in capsys.readouterr().err
    assert not (tmp_path / ".demo").exists()
