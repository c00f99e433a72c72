"""The monitor's report — `reports/monitor/report.json`: one record per window (its bounds, rows,
labelled rows, every family of tests with each finding, the label-free estimate, realized
performance, alarms) and the run's verdict, retrain and revert apart. Written by `rollgate monitor`."""

from __future__ import annotations

from typing import Any

from rollgate.contracts import jsonio

SCHEMA = "monitor-report"
SCHEMA_VERSION = 1


def check(report: Any, source: str) -> None:
    """Raise `ContractError` naming `source` and every offending field if `report` breaks the schema."""
    jsonio.check(report, SCHEMA, source)
