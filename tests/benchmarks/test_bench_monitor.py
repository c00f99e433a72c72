"""The monitor bench: a short run on tiny weeks ends with the machine-readable line, and the yearly
rates and the last line follow from the counts (the larger upper bound of the two kinds, full traffic)."""

from __future__ import annotations

import re

import pytest
from benchmarks.monitor import bench, report

pytestmark = pytest.mark.unit

LAST_LINE = r"false_alarms_per_year=\d+\.\d{3} upper95=\d+\.\d{3} max_delay_weeks=(>?\d+) seeds=\d+"


def test_a_short_run_prints_both_tables_and_the_last_line(capsys: pytest.CaptureFixture[str]) -> None:
    bench.main(["--seeds", "4", "--shift-seeds", "1", "--rows", "3000", "--horizon", "2", "--workers", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(LAST_LINE, lines[-1]), lines[-1]
    assert lines[-1].endswith("seeds=4")
    for shift in ("amount_inflation", "online_surge", "fraud_wave"):
        assert any(line.startswith(shift) for line in lines), shift
    assert sum(line.startswith(("retrain ", "revert ")) for line in lines) == 4


def test_the_last_line_takes_the_worse_kind_at_full_traffic() -> None:
    counts = [
        report.Count("retrain", 1.0, 0, 1000),
        report.Count("revert", 1.0, 2, 1000),
        report.Count("retrain", 0.01, 50, 1000),  # the sampled log does not enter the last line
    ]
    delays = [report.Delay("online_surge", 1.0, (1, 2)), report.Delay("online_surge", 0.01, (None, 3))]
    line = report.last_line(counts, delays, horizon=6)
    assert line.startswith("false_alarms_per_year=0.104 upper95=")
    assert line.endswith("max_delay_weeks=2 seeds=1000")
    assert counts[0].upper95 == pytest.approx(52 * 0.003682, abs=1e-3)  # 0 in 1,000: the 95 % upper end
