"""`make demo-monitor`: the trained model's log of the weeks after training, judged against the training
rows; a shift alarms, no shift does not, and bad input is one line naming what to fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from rollgate import cli
from rollgate.contracts import paths
from rollgate.data.example import generate
from tests.tiny_model import TinyModel, train_tiny

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with a trained model in models/ and the example's training weeks as the prepared rows."""
    model: TinyModel = train_tiny(tmp_path_factory, iterations=10)
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(model.path.parent, root / paths.MODEL_ARTIFACT.parent)
    (root / paths.PREPARED_DIR).mkdir(parents=True)
    weeks = pd.concat([generate.generate_week(w) for w in range(12)], ignore_index=True)
    weeks.to_parquet(root / paths.TRAIN_SET)
    return root


@pytest.mark.parametrize(("shift", "code"), [("none", 0), ("amount_inflation", 1)])
def test_a_shift_alarms_and_no_shift_does_not(project: Path, shift: str, code: int) -> None:
    assert cli.main(["--root", str(project), "demo", "--monitor", shift]) == code
    out = project / ".demo" / "monitor" / "report"
    report = json.loads((out / "report.json").read_text())
    assert len(report["windows"]) == 3
    findings = [f for w in report["windows"] for family in w["families"].values() for f in family["findings"]]
    drifted = {f["subject"] for f in findings if f["alarm"]}
    assert ("amount" in drifted) == (shift == "amount_inflation"), drifted
    assert (out / "report.md").read_text().startswith("## Monitor:")
    assert (out / "charts" / "feature-amount.png").is_file()


def test_a_bad_shift_or_no_model_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path), "demo", "--monitor", "sideways"]) == 2
    assert "unknown shift 'sideways': one of none, amount_inflation" in capsys.readouterr().err
    assert cli.main(["--root", str(tmp_path), "demo", "--monitor", "none"]) == 2
    assert "no trained model in models/" in capsys.readouterr().err
    assert not (tmp_path / ".demo").exists()
