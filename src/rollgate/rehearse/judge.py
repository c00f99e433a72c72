"""One analysis step run in real time, as Argo Rollouts' AnalysisRun runs it: each metric measured when it
is due (initialDelay, then every interval, `count` times), each measurement's phase from the metric's
conditions, each metric's phase from its limits, the run's from its metrics' (`rollgate.rehearse.argo`).

The Prometheus query and the clock are passed in, so the loop is tested without either; the rehearsal
passes the real Prometheus and `time`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rollgate.contracts.errors import RollgateError
from rollgate.rehearse import argo, measure
from rollgate.rehearse.measure import Phase
from rollgate.rehearse.plan import Analysis

Result = list[float] | float
Query = Callable[[str, float], Result]  # (PromQL, timeout seconds) -> the instant query's result
_THRESHOLD = re.compile(r"result(?:\[0\])?\s*(<=|<|>=|>)\s*(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)")


@dataclass(frozen=True)
class Measured:
    """One measurement, as the timeline shows it."""

    metric: str
    at: float  # seconds since the rehearsal started
    phase: str
    value: float | None  # result[0] (or the scalar); None for an empty result or an error
    error: str | None = None
    sides: dict[str, float | None] = field(default_factory=dict)  # canary and stable, for the charts


@dataclass(frozen=True)
class Outcome:
    phase: Phase  # the AnalysisRun's
    metrics: dict[str, str]  # metric -> its phase
    measured: tuple[Measured, ...]
    deciding: tuple[str, ...]  # the metrics in the run's phase (the failed ones when it failed)


def threshold(metric: argo.Metric) -> float | None:
    """The number the metric's result is compared with, read from its (resolved) conditions."""
    for text in (metric.failure_text, metric.success_text):
        match = _THRESHOLD.search(text or "")
        if match:
            return float(match.group(2))
    return None


def first(result: Result) -> float | None:
    if isinstance(result, list):
        return result[0] if result else None
    return float(result)


def _measure(metric: argo.Metric, query: Query, clock: Callable[[], float]) -> measure.Measurement:
    try:
        result = query(metric.query, metric.timeout_s)
    except RollgateError as exc:  # Prometheus refused the query or did not answer: an Error measurement
        return measure.Measurement(Phase.ERROR, clock(), None, " ".join(str(exc).split()))
    return measure.measurement(metric, result, clock())


def _shown(
    name: str, m: measure.Measurement, offset: float, sides: Callable[[str], dict[str, float | None]]
) -> Measured:
    value = None if m.phase is Phase.ERROR or m.value is None else first(m.value)
    return Measured(name, round(m.at + offset, 2), str(m.phase), value, m.message or None, sides(name))


def run(
    analysis: Analysis,
    query: Query,
    clock: Callable[[], float],
    *,
    sleep: Callable[[float], None],
    sides: Callable[[str], dict[str, float | None]] = lambda _: {},
    offset: float = 0.0,
) -> Outcome:
    """Run `analysis` until its AnalysisRun completes. `offset`: the rehearsal's clock at `clock()` = 0."""
    started = clock()

    def elapsed() -> float:
        return clock() - started

    taken: dict[str, list[measure.Measurement]] = {m.name: [] for m in analysis.metrics}
    shown: list[Measured] = []
    phases = {m.name: Phase.PENDING for m in analysis.metrics}
    while True:
        deciding = {n: p for n, p in phases.items() if n not in analysis.dry_run}
        run_phase = measure.assess_run(deciding) if deciding else Phase.SUCCESSFUL
        # Argo's assessRunStatus: a deciding metric Failed, Error or Inconclusive ends the run at once;
        # otherwise it is Running until every metric, the dry runs included, is complete.
        if run_phase.completed and (run_phase is not Phase.SUCCESSFUL or all(p.completed for p in phases.values())):
            break
        now = elapsed()
        due = {m.name: measure.next_due(m, taken[m.name]) for m in analysis.metrics if not phases[m.name].completed}
        pending = [t for t in due.values() if t is not None]
        if not pending:  # every metric done but the run not: cannot happen with Argo's rules; fail loudly
            raise RollgateError(f"analysis {analysis.templates}: no measurement due but the run is {run_phase}")
        wait = min(pending) - now
        if wait > 0:
            sleep(wait)
            continue
        for metric in analysis.metrics:
            if due.get(metric.name) is not None and due[metric.name] <= now + 1e-9:  # type: ignore[operator]
                taken[metric.name].append(_measure(metric, query, elapsed))
                shown.append(_shown(metric.name, taken[metric.name][-1], offset, sides))
                phases[metric.name] = measure.assess(metric, taken[metric.name])
    names = tuple(n for n, p in phases.items() if p == run_phase and n not in analysis.dry_run)
    return Outcome(run_phase, {n: str(p) for n, p in phases.items()}, tuple(shown), names)
