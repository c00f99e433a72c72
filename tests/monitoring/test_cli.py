"""`rollgate monitor drift|performance` as a user runs it (a subprocess) on generic tables and on the
server's prediction log joined to a labels file: exit codes, report.json against its schema, report.md,
the PNG charts and the DVC plots files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollgate.contracts import monitor_report
from tests.helpers import BIN
from tests.monitoring import world
from tests.monitoring.conftest import START

pytestmark = pytest.mark.integration
SCORED = ["--time-column", "ts", "--score-column", "score", "--label-column", "y"]


def _rollgate(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "rollgate"), *map(str, args)], capture_output=True, text=True, check=False)


def test_iid_current_rows_raise_no_alarm_and_write_every_output(files: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = _rollgate("monitor", "drift", "--reference", files / "reference.parquet",
                    "--current", files / "current.csv", *SCORED, "--out", out)  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "report.json").read_text())
    monitor_report.check(report, "report.json")
    assert [w["window"] for w in report["windows"]] == ["2026-W10", "2026-W11"]
    assert report["columns"]["features"] == ["f1", "f2", "cat"] and report["columns"]["categorical"] == ["cat"]
    assert report["verdict"] == {"windows": ["2026-W10", "2026-W11"], "alarm": False, "retrain": [], "revert": [],
                                 "actions": []}  # fmt: skip
    assert (out / "report.md").read_text().startswith("## Monitor: no alarm")
    for name in ("feature-f1", "feature-f2", "feature-cat", "performance"):
        assert (out / "charts" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    shares = json.loads((out / "plots" / "feature-cat.json").read_text())
    assert [r["label"] for r in shares] == ["a", "b", "c", "unseen"] and {"reference", "current"} <= set(shares[0])
    auc = json.loads((out / "plots" / "performance.json").read_text())
    assert [r["window"] for r in auc] == ["2026-W10", "2026-W11"] and auc[0]["estimated_auc"] > 0.6


def test_a_shifted_feature_alarms_and_the_summary_names_it(files: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = _rollgate("monitor", "drift", "--reference", files / "reference.parquet",
                    "--current", files / "shifted.parquet", "--time-column", "ts", "--features", "f1,f2,cat",
                    "--out", out)  # fmt: skip
    assert run.returncode == 1, run.stderr
    summary = (out / "report.md").read_text()
    assert summary.startswith("## Monitor: alarm — retrain") and "| drift | `f1` |" in summary
    drifted = {f["subject"] for w in json.loads((out / "report.json").read_text())["windows"]
               for f in w["families"]["drift"]["findings"] if f["alarm"]}  # fmt: skip
    assert drifted == {"f1"}


def test_the_prediction_log_joined_to_part_of_its_labels(files: Path, tmp_path: Path) -> None:
    current = world.table(2000, START, seed=4)
    logs = tmp_path / "logs"
    logs.mkdir()
    world.write_log(logs / "predictions.jsonl.1", current.iloc[:1000])  # rotated: the older half
    world.write_log(logs / "predictions.jsonl", current.iloc[1000:])
    labels = current.iloc[::2].loc[:, ["id", "y"]]  # half the rows have a label, a quarter by --as-of
    labels["arrived"] = np.where(np.arange(len(labels)) % 2 == 0, "2026-03-20T00:00:00Z", "2026-05-01T00:00:00Z")
    labels.iloc[::-1].to_csv(tmp_path / "labels.csv", index=False)  # any order
    out = tmp_path / "report"
    run = _rollgate("monitor", "performance", "--reference", files / "reference.parquet", "--current", logs,
                    "--labels", tmp_path / "labels.csv", "--label-time-column", "arrived", "--as-of", "2026-04-01",
                    *SCORED, "--sha256", world.DIGEST, "--out", out)  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "report.json").read_text())
    assert [(w["rows"], w["labelled_rows"]) for w in report["windows"]] == [(1000, 250), (1000, 250)]
    performance = report["windows"][0]["performance"]
    assert performance["labelled"] == 250 and performance["positives"] == int(current["y"].iloc[:1000:4].sum())
    assert report["windows"][0]["families"]["realized"]["judged"] is True
    assert pd.notna(performance["roc_auc"]) and "### `2026-W10`" not in (out / "report.md").read_text()
