"""The pull-request report's Markdown, from dictionaries shaped like the pipeline's JSON outputs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rollgate.gate.decide import GateInputs, decide
from rollgate.gate.evidence import Latency, ModelEvidence, OperatingPoint, SegmentEvidence
from rollgate.gate.stats import Difference, RateRatio
from rollgate.report import markdown, shift
from tests import fixed_params
from tests.gate.examples import FEATURES, GOOD, NEW, OLD

pytestmark = pytest.mark.unit


def _gate(env: str = "prod", **over: Any) -> dict[str, Any]:
    inputs = GateInputs(
        env=env,
        challenger=ModelEvidence(NEW, dict(GOOD), FEATURES),
        champion=ModelEvidence(OLD, {**GOOD, "roc_auc": 0.88}, FEATURES),
        comparison=Difference(0.88, 0.90, 0.02, 0.004, 0.036, 0.01, "delong", (0.87, 0.89), (0.89, 0.91)),
        segments=(
            SegmentEvidence("channel", "online", 9000, 120, True, 0.91, 0.86, -0.05, 0.001, 0.002),
            SegmentEvidence("country", "MT", 40, 1, False),
        ),
        latency=Latency(1e-5, 1.2e-5),
        operating=OperatingPoint(0.0912, 0.0874, RateRatio(36_000, 684, 702, 90, 702 / 684, 1.0)),
    )
    return decide(replace(inputs, **over), fixed_params.gate()).to_dict()


PASSED = {"passed": True, "rows": 108000, "files": 12, "label_rate": 0.0123, "failures": []}
FAILED = {
    "passed": False,
    "rows": 500,
    "files": 1,
    "failures": [
        {
            "column": "amount",
            "check": "greater_than(0)",
            "count": 3,
            "examples": [{"file": "w1.parquet", "row": 7, "value": -2.5}],
        },
        {"column": "is_fraud", "check": "label rate", "count": 1, "examples": []},
    ],
}
DIFF = markdown.DataDiff(
    base_md5="a.dir",
    head_md5="b.dir",
    rows_base=9000,
    rows_head=10000,
    files_added=("week-13.parquet",),
    shift=(shift.ColumnShift("amount", "numeric", 0.31, 0.2, "mean 50", "mean 80"),),
    compared="new and changed files against the base data",
)


def _render(**over: Any) -> str:
    base = {"base": "origin/main", "validation": PASSED, "params": (), "data": None, "gates": (_gate(),)}
    if "gate" in over:
        over["gates"] = (over.pop("gate"),)
    return markdown.render(markdown.Inputs(**{**base, **over}))


def test_sections_in_order_under_the_sticky_marker() -> None:
    text = _render(plots=(("ROC", "reports/plots/roc.json"),))
    assert text.startswith(markdown.MARKER + "\n")
    heads = [line for line in text.splitlines() if line.startswith("###")]
    assert [h.split("**")[0].lstrip("#").removeprefix(" ❌ ").strip() for h in heads] == [
        "Data validation",
        "Params",
        "Data",
        "`prod`",
        "Gate verdict:",
        "Champion vs challenger",
        "Segments",
        "Plots",
    ]
    assert "- ❌ `prod`: **reject**" in text
    assert "- [ROC](reports/plots/roc.json)" in text


def test_every_failed_reason_is_listed() -> None:
    text = _render()
    assert "#### ❌ Gate verdict: **reject**" in text
    assert "- ❌ **segment.channel=online**:" in text
    assert "- ✅ **improvement**:" in text
    assert "- ✅ **latency**: predict time per row 1.20x" in text
    assert "- ✅ **operating_point**: the challenger flags 1.95% of the holdout at threshold 0.0874" in text


def test_the_operating_point_of_each_model() -> None:
    text = _render()
    assert (
        "Rows flagged at the threshold each ships: champion 1.90% (threshold 0.0912), challenger 1.95% (0.0874)."
        in text
    )


def test_intervals_and_the_paired_difference() -> None:
    text = _render()
    assert "| roc_auc | 0.8800 [0.8700, 0.8900] | 0.9000 [0.8900, 0.9100] |" in text
    assert "**roc_auc difference** +0.0200, 97.5% one-sided bounds [0.0040, 0.0360] (delong)." in text


def test_segments_table_with_not_judged_rows() -> None:
    text = _render()
    assert "| channel=online | 9,000 | 120 | 0.9100 | 0.8600 | -0.0500 | 0.002 |" in text
    assert "| country=MT | 40 | 1 | not judged (too small) | | | |" in text


def test_no_champion() -> None:
    text = _render(gate=_gate(champion=None, comparison=None, segments=(), latency=None))
    assert "No champion in `prod` yet" in text
    assert "| roc_auc | — | 0.9000 |" in text
    assert "#### ✅ Gate verdict: **promote**" in text


def test_validation_failures_as_a_table() -> None:
    text = _render(validation=FAILED)
    assert "❌ **Data validation failed**: 2 broken checks." in text
    assert "| `amount` | greater_than(0) | 3 | w1.parquet row 7: `-2.5` |" in text


def test_params_diff() -> None:
    text = _render(params=(("train.max_iter", 200, 300), ("gate.rule", None, "superiority")))
    assert "| `train.max_iter` | `200` | `300` |" in text
    assert "| `gate.rule` | (absent) | `superiority` |" in text
    assert "No change to `params.yaml`" in _render()


def test_data_diff_and_shift() -> None:
    text = _render(data=DIFF)
    assert "9,000 → 10,000 rows (+1,000); files added 1, removed 0, changed 0." in text
    assert "| `amount` | 0.310 | 0.200 | mean 50 | mean 80 | ⚠️ major |" in text
    assert "No change to the data against `origin/main`." in _render(data=replace(DIFF, head_md5="a.dir"))


def test_manifest_diff_is_folded() -> None:
    text = _render(manifests={"prod": "-  sha256: aaa\n+  sha256: bbb\n"})
    assert "<details><summary>diff</summary>" in text and "+  sha256: bbb" in text
    assert "Manifests" not in _render()
    assert "(no change)" in _render(manifests={"prod": ""})


def test_one_part_per_environment_each_against_its_own_champion() -> None:
    staging = _gate("staging", champion=None, comparison=None, segments=(), latency=None, operating=None)
    text = _render(gates=(_gate(), staging), manifests={"staging": "+  sha256: bbb\n"})
    assert "against `prod`, `staging`" in text
    assert "- ❌ `prod`: **reject**" in text and "- ✅ `staging`: **promote**" in text
    prod_part, staging_part = text.split("### `prod`")[1].split("### `staging`")
    assert "#### ❌ Gate verdict: **reject**" in prod_part and "Manifests" not in prod_part
    assert "No champion in `staging` yet" in staging_part and "+  sha256: bbb" in staging_part


def test_nan_metrics_render_as_not_available() -> None:
    gate = _gate()
    gate["challenger"]["metrics"]["roc_auc"] = None
    assert "| roc_auc | 0.8800 [0.8700, 0.8900] | n/a [0.8900, 0.9100] |" in _render(gate=gate)


def test_rendering_is_deterministic() -> None:
    assert _render(data=DIFF) == _render(data=DIFF)


# --- shift ------------------------------------------------------------------------------------------


def test_no_shift_for_the_same_distribution() -> None:
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(["a", "b"], 5000)})
    b = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(["a", "b"], 5000)})
    found = {s.column: s for s in shift.shifts(a, b, ["x", "c", "missing"])}
    assert set(found) == {"x", "c"}
    assert all(s.level == "stable" for s in found.values())
    assert found["c"].ks is None and found["x"].ks is not None


def test_a_moved_mean_and_a_new_category_are_major() -> None:
    rng = np.random.default_rng(1)
    a = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(["a", "b"], 5000)})
    b = pd.DataFrame({"x": rng.normal(1.0, 1.0, 5000), "c": rng.choice(["a", "b", "z"], 5000)})
    found = shift.shifts(a, b, ["x", "c"])
    assert [s.level for s in found] == ["major", "major"]
    assert found[0].psi >= found[1].psi  # largest first
