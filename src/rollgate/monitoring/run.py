"""One monitor run: load, cut windows, share the false-alarm budget, judge every window, then write.

In `performance` runs, a window's cohort is judged on realized performance once: when its labels have
matured and no earlier run judged it (`cohorts`); the false-alarm budget of the per-cohort families is
split across the cohorts judged in this run only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from rollgate.contracts.errors import RollgateError
from rollgate.monitor.assess import Columns, assess_window
from rollgate.monitor.budget import Budget, split
from rollgate.monitor.policy import DEFAULT_POLICY, Alphas
from rollgate.monitor.report import JUDGED, Verdict, WindowResult, verdict
from rollgate.monitor.windows import Window, split_windows
from rollgate.monitoring import cohorts, outputs
from rollgate.monitoring.load import Loaded, load
from rollgate.monitoring.options import Options


@dataclass(frozen=True)
class Outcome:
    options: Options
    loaded: Loaded = field(repr=False)
    alphas: Alphas
    budget: Budget
    results: tuple[WindowResult, ...]
    verdict: Verdict


def _windows(o: Options, loaded: Loaded) -> tuple[Window, ...]:
    try:
        windows = split_windows(loaded.current, o.window, loaded.time)
    except RollgateError as e:
        raise RollgateError(f"{o.current}: {e}") from e
    for w in windows:
        if w.rows == 0:
            raise RollgateError(f"{o.current}: window {w.id} has no rows (column {loaded.time!r})")
    return windows


def _labelled(window: Window, label: str | None) -> int:
    if label is None:
        return 0
    return int(pd.to_numeric(window.frame[label], errors="coerce").notna().sum())


def _families(o: Options, scored: bool) -> list[str]:
    out = ["drift", "domain"] + (["prediction", "label_free"] if scored else [])
    if o.command == "performance":
        out += ["realized", "positives"] + (["paired"] if o.previous_score_column else [])
    return out


def judge(o: Options) -> Outcome:
    """Every window judged under one budget (pure past `load`: no file is written)."""
    loaded = load(o)
    windows = _windows(o, loaded)
    scored = o.score_column is not None
    states = cohorts.states(o, windows, [_labelled(w, loaded.label) for w in windows], loaded.digest)
    due = [state == JUDGED for state in states]
    budget = Budget()
    alphas = split(budget, windows=len(windows), cohorts=int(np.sum(due)), families=_families(o, scored))
    prev = o.previous_score_column if o.command == "performance" else None
    columns = Columns(score=o.score_column, label=loaded.label, previous=prev)
    results = []
    for window, judged, state in zip(windows, due, states, strict=True):
        try:
            result = assess_window(window, loaded.reference, columns=columns, judge_performance=judged, alphas=alphas)
        except RollgateError as e:
            raise RollgateError(f"{o.current}: {e}") from e
        results.append(replace(result, cohort=state))
    return Outcome(o, loaded, alphas, budget, tuple(results), verdict(results))


def monitor(o: Options) -> int:
    """Judge, write every output under `o.out` (only once all of them are made), and the exit code:
    0 no alarm, 1 an alarm. Bad input is a `RollgateError` before anything is written."""
    outcome = judge(o)
    outputs.write(o.out, outputs.render(outcome, DEFAULT_POLICY))
    return 1 if outcome.verdict.alarm else 0
