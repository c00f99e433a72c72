"""The edge's pure-ish parts on tiny inputs: reading the prediction log (rotations oldest first, a bad
line named), joining labels, and the Markdown summary of a report record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.monitoring import markdown, read
from tests.monitoring import world

pytestmark = pytest.mark.unit


def test_a_log_and_its_rotations_are_read_oldest_first(tmp_path: Path) -> None:
    rows = world.table(30, "2026-03-02", seed=8)
    world.write_log(tmp_path / "p.jsonl.2", rows.iloc[:10], per_request=5)
    world.write_log(tmp_path / "p.jsonl.1", rows.iloc[10:20], per_request=5)
    world.write_log(tmp_path / "p.jsonl", rows.iloc[20:], per_request=5)
    for source in (tmp_path / "p.jsonl", tmp_path):
        frame = read.read_log(source)
        assert frame["id"].tolist() == rows["id"].tolist()
        assert {"ts", "id", "sha256", "f1", "f2", "cat", "score", "flagged"} <= set(frame.columns)
        assert str(frame["ts"].dt.tz) == "UTC"


def test_a_line_that_is_not_the_server_s_is_named(tmp_path: Path) -> None:
    world.write_log(tmp_path / "p.jsonl", world.table(3, "2026-03-02"))
    with (tmp_path / "p.jsonl").open("ab") as f:
        f.write(b'{"ts": 1}\n')
    with pytest.raises(RollgateError, match=r"p\.jsonl: line 4 is not a prediction log line"):
        read.read_log(tmp_path / "p.jsonl")


def test_labels_join_by_id_and_leave_the_rest_unlabelled() -> None:
    current = pd.DataFrame({"id": [1, 2, 3], "f1": [0.1, 0.2, 0.3]})
    labels = pd.DataFrame({"id": ["3", "1"], "y": [1, 0]})
    joined = read.join_labels(current, labels, id_column="id", label_column="y",
                              current_path=Path("c.csv"), labels_path=Path("l.csv"))  # fmt: skip
    assert joined["y"].iloc[0] == 0 and pd.isna(joined["y"].iloc[1]) and joined["y"].iloc[2] == 1


def test_an_id_labelled_twice_is_refused() -> None:
    labels = pd.DataFrame({"id": [1, 1], "y": [1, 0]})
    with pytest.raises(RollgateError, match=r"l\.csv: column 'id' holds an id twice"):
        read.join_labels(pd.DataFrame({"id": [1]}), labels, id_column="id", label_column="y",
                         current_path=Path("c.csv"), labels_path=Path("l.csv"))  # fmt: skip


def _record(alarm: bool) -> dict[str, Any]:
    finding = {"subject": "f1", "test": "ks", "statistic": 0.2, "p_value": 1e-9, "p_adjusted": 2e-9,
               "effect": "ks_d", "effect_value": 0.2, "level": "major", "rows": 900, "reference_rows": 4000,
               "alarm": alarm}  # fmt: skip
    family = {"judged": True, "alarm": alarm, "findings": [finding]}
    alarms = [{"kind": "retrain", "window": "2026-W10", "family": "drift", "reason": "f1: ks_d 0.2 ..."}]
    return {
        "inputs": {"reference": "r.parquet", "current": "c.csv", "labels": None},
        "reference": {"rows": 4000}, "window": "week", "budget": {"alpha": 0.01},
        "verdict": {"alarm": alarm, "actions": ["retrain"] if alarm else [], "retrain": alarms if alarm else [],
                    "revert": []},
        "windows": [{"window": "2026-W10", "rows": 900, "labelled_rows": 0, "label_free": None,
                     "performance": None, "cohort": "not_asked",
                     "families": {"drift": family, "domain": family | {"findings": []}}}],
    }  # fmt: skip


def test_the_summary_puts_the_verdict_first_and_names_what_drifted() -> None:
    text = markdown.render(_record(True))
    assert text.startswith("## Monitor: alarm — retrain")
    assert "- `2026-W10`: drift (`f1`)" in text
    assert "| drift | `f1` | ks | 0.2 | 1e-09 | 2e-09 | ks_d 0.2 (major) | 900 vs 4000 |" in text
    quiet = markdown.render(_record(False))
    assert quiet.startswith("## Monitor: no alarm") and "### `2026-W10`" not in quiet
    assert "| `2026-W10` | 900 | 0 | ok | ok | - | - |" in quiet
