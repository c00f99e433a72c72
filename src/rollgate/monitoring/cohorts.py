"""Which windows' cohorts a run judges on realized performance: matured, and not judged before.

A cohort (the rows of one window) is judged once, when its labels have matured, never again as more
labels trickle in: `--maturity-days D` says when (D days after the window's end, by `--as-of`; without
it the labels given are taken as matured), and `--judged REPORT` — the report.json of the previous run
— says which cohorts that run or the runs before it judged. A report of another model's log carries no
judgments over: those were cohorts of that model's predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from rollgate.contracts import jsonio, monitor_report
from rollgate.contracts.errors import RollgateError
from rollgate.monitor import report
from rollgate.monitor.budget import Maturity, due_for_judgment
from rollgate.monitor.windows import Window
from rollgate.monitoring.options import Options


def as_of(o: Options) -> pd.Timestamp:
    """The time the run looks from (`--as-of`, default now), in UTC."""
    try:
        at = pd.Timestamp(o.as_of) if o.as_of else pd.Timestamp.now(tz="UTC")
    except ValueError as e:
        raise RollgateError(f"--as-of {o.as_of!r}: not a time ({e})") from e
    return at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")


def judged_before(path: Path | None, digest: str | None) -> set[str]:
    """The windows an earlier run's report judged (directly or carried), for the same model digest."""
    if path is None:
        return set()
    record = jsonio.read(path, monitor_report.SCHEMA)
    if digest is not None and record["model_sha256"] not in (None, digest):
        return set()
    return {w["window"] for w in record["windows"] if w["cohort"] in (report.JUDGED, report.JUDGED_BEFORE)}


def _matured(window: Window, o: Options, at: pd.Timestamp) -> bool:
    if o.maturity_days is None:
        return True
    if window.end is None:
        raise RollgateError(f"--maturity-days needs times: window {window.id} has none (give --time-column)")
    end = pd.Timestamp(window.end)
    end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    return bool(end + pd.Timedelta(days=o.maturity_days) <= at)


def states(o: Options, windows: Sequence[Window], labelled: Sequence[int], digest: str | None) -> list[str]:
    """Each window's cohort state (`rollgate.monitor.report.COHORT_STATES`) in this run."""
    if o.command != "performance" or not any(labelled):
        return [report.NOT_ASKED] * len(windows)
    if o.maturity_days is not None and not o.maturity_days >= 0:
        raise RollgateError(f"--maturity-days {o.maturity_days}: a number of days, 0 or more")
    at = as_of(o)
    cohorts = [Maturity(w.id, w.rows, n, _matured(w, o, at)) for w, n in zip(windows, labelled, strict=True)]
    due = due_for_judgment(cohorts, judged_before(o.judged, digest))
    out = []
    for c in cohorts:
        if c.window in due.judged:
            out.append(report.JUDGED_BEFORE)
        elif c.window in due.waiting:
            out.append(report.WAITING)
        else:
            out.append(report.JUDGED if c.labelled else report.NOT_ASKED)
    return out
