"""The timeline: non-finite values survive the JSON round trip, the Markdown table has one row per step with
each analysis step's last values, and the charts are one PNG per measured metric."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from rollgate.rehearse import chart, timeline
from rollgate.rehearse.judge import Measured
from rollgate.rehearse.timeline import StepLine, Timeline

pytestmark = pytest.mark.unit

PNG = b"\x89PNG\r\n\x1a\n"


def _timeline() -> Timeline:
    t = Timeline(env="staging", sides={"stable": {"hash": "s1"}, "canary": {"hash": "c1"}}, settings={"interval": "3s"})
    t.steps += [
        StepLine(-1, "start", "both pods started as rendered", "no traffic", 0.0, 4.0),
        StepLine(1, "setMirrorRoute", "setMirrorRoute: {name: shadow}", "shadow", 4.0, 4.1),
        StepLine(3, "analysis", "analysis: t", "shadow", 4.1, 20.0, "Failed"),
    ]
    t.measured(3, Measured("ratio", 5.0, "Successful", 1.2, None, {"canary": 0.1, "stable": 0.09}))
    t.measured(3, Measured("ratio", 8.0, "Failed", math.inf, None, {"canary": math.nan, "stable": 0.0}))
    t.measured(3, Measured("delta", 5.0, "Inconclusive", None))
    t.measured(3, Measured("delta", 8.0, "Error", None, "prometheus: timeout"))
    t.measured(3, Measured("delta", 11.0, "Failed", math.nan))
    t.thresholds = {"ratio": 2.0, "delta": -math.inf}
    t.verdict, t.reason = "abort", "analysis Failed at shadow (step 3): ratio = inf, threshold 2.0"
    t.decided_by = {"step": 3, "stage": "shadow", "metric": "ratio", "value": math.inf, "threshold": 2.0}
    return t


def test_non_finite_values_survive_write_then_load(tmp_path: Path) -> None:
    path = _timeline().write(tmp_path / "out")
    assert path == tmp_path / "out" / timeline.FILE
    json.loads(path.read_text(encoding="utf-8"), parse_constant=pytest.fail)  # strict JSON: no NaN, no Infinity
    loaded = timeline.load(path)
    values = [timeline.number(m["value"]) for m in loaded["measurements"]]
    assert values[:2] == [1.2, math.inf] and values[2:4] == [None, None] and math.isnan(values[4])  # type: ignore[arg-type]
    assert math.isnan(timeline.number(loaded["measurements"][1]["sides"]["canary"]))  # type: ignore[arg-type]
    assert timeline.number(loaded["thresholds"]["delta"]) == -math.inf
    assert timeline.number(loaded["decided_by"]["value"]) == math.inf
    assert loaded["measurements"][3]["error"] == "prometheus: timeout" and loaded["measurements"][0]["step"] == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [("NaN", math.nan), ("+Inf", math.inf), ("-Inf", -math.inf), (None, None), (2, 2.0), (0.5, 0.5)],
)
def test_number(value: Any, expected: float | None) -> None:
    got = timeline.number(value)
    if expected is None or not math.isnan(expected):
        assert got == expected
    else:
        assert got is not None and math.isnan(got)


def test_the_table_has_a_row_per_step_and_the_analysis_steps_last_values() -> None:
    lines = timeline.table(_timeline().to_dict())
    assert lines[:2] == ["| t (s) | step | stage | outcome |", "|---:|---|---|---|"]
    assert lines[2] == "| 0 | both pods started as rendered | no traffic |  |"
    assert lines[3] == "| 4 | setMirrorRoute: {name: shadow} | shadow |  |"
    assert lines[4] == "| 4 | analysis: t | shadow | **Failed**: ratio inf (Failed), delta nan (Failed) |"
    assert lines[5:] == [
        "",
        "**Verdict: abort** — analysis Failed at shadow (step 3): ratio = inf, threshold 2.0 (step 3)",
    ]


def test_the_table_says_no_data_for_an_empty_last_result() -> None:
    t = _timeline()
    t.measurements = t.measurements[:3]
    t.decided_by = None
    (row,) = [line for line in timeline.table(t.to_dict()) if "analysis: t" in line]
    assert row.endswith("| **Failed**: ratio inf (Failed), delta no data (Inconclusive) |")
    assert timeline.table(t.to_dict())[-1].endswith("threshold 2.0")


def test_draw_writes_one_png_per_measured_metric(tmp_path: Path) -> None:
    t = _timeline()
    t.measurements.append({"step": 3, "metric": "lonely", "at": 9.0, "phase": "Successful", "value": 0.1,
                           "error": None, "sides": {}})  # fmt: skip
    loaded = timeline.load(t.write(tmp_path))  # as the PR report reads it: non-finite values as strings
    written = chart.draw(loaded, tmp_path / "charts")
    assert [p.name for p in written] == ["ratio.png", "delta.png", "lonely.png"]
    assert all(p.read_bytes()[:8] == PNG for p in written)
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == sorted(p.name for p in written)


def test_draw_without_measurements_writes_nothing(tmp_path: Path) -> None:
    t = _timeline()
    t.measurements = []
    assert chart.draw(t.to_dict(), tmp_path / "charts") == []
