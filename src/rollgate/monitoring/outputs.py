"""Every output of a run, made in memory first and written only then, each file atomically: a run
that fails leaves the earlier reports as they were.

Under the output folder: `report.json` (checked against the `monitor-report` schema), `report.md`,
`charts/feature-<name>.png` and `plots/feature-<name>.json` per feature, and with scores
`charts/performance.png` and `plots/performance.json`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rollgate.contracts import atomic, jsonio, monitor_report
from rollgate.monitor.policy import Policy
from rollgate.monitoring import charts, markdown, record

if TYPE_CHECKING:
    from rollgate.monitoring.run import Outcome


def _json(obj: object) -> bytes:
    return jsonio.dumps(obj).encode()


def render(outcome: Outcome, policy: Policy) -> dict[str, bytes]:
    """Relative path -> bytes of every output."""
    report = record.report(outcome, policy)
    monitor_report.check(report, "report.json")
    files = {"report.json": _json(report), "report.md": markdown.render(report).encode()}
    for name, rows in charts.feature_records(outcome.loaded.reference, outcome.loaded.current).items():
        files[f"plots/feature-{charts.safe_name(name)}.json"] = _json(rows)
        files[f"charts/feature-{charts.safe_name(name)}.png"] = charts.feature_png(name, rows)
    if outcome.options.score_column:
        score = report["reference"]
        rows = charts.performance_records(report["windows"], score["roc_auc"], score["alarm_auc"])
        files["plots/performance.json"] = _json(rows)
        files["charts/performance.png"] = charts.performance_png(rows)
    return files


def write(out: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        atomic.write_bytes(out / relative, data)
