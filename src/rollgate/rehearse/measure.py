"""Argo Rollouts' analysis run, pure: one measurement's phase, a metric's phase, the run's, when to measure next,
and what the rollout does with the run's verdict. No I/O and no clock: times are seconds on the caller's clock.

Verified against argo-rollouts v1.9.1:

- utils/evaluate/evaluate.go, EvaluateResult: an error in either condition is Error; with neither condition a
  measurement is Successful; with only a success condition, not meeting it is Failed; with only a failure
  condition, not meeting it is Successful; with both, failure wins, then success, and neither is Inconclusive.
- metricproviders/prometheus/prometheus.go, processResponse: a vector binds `result` to its values ([] when empty,
  NaN as NaN), a scalar to one float; any other result type is an Error. Every measurement finishes at once.
- analysis/analysis.go, runMeasurements: Error measurements do not count towards `count`; an Error resets the
  consecutive successes, anything else the consecutive errors. assessMetricStatus and
  assessMetricFailureInconclusiveOrError, in this order: failed > failureLimit (unless -1) is Failed, then
  inconclusive > inconclusiveLimit is Inconclusive, then consecutive errors > consecutiveErrorLimit is Error,
  each later one overriding an earlier; then consecutiveSuccessLimit reached is Successful; then count reached is
  Successful (Inconclusive, or Failed without a failureLimit, when a consecutiveSuccessLimit was not reached);
  else Running, or Successful when the run is terminating. A completed metric phase never changes again.
- assessRunStatus with utils/analysis/helpers.go (IsTerminating, analysisStatusOrder): a metric Failed, Error or
  Inconclusive terminates the run, which then takes no new measurements and ends with its worst completed
  phase (Failed worst, then Error, Inconclusive) without waiting for the other metrics (one reconcile later,
  immediately); otherwise the run is Running until every metric is complete, then the worst of them.
- calculateNextReconcileTime and generateMetricTasks: the first measurement at start + initialDelay, the next
  an interval after the previous one finished, or 10 s after an Error (DefaultErrorRetryInterval).
- rollout/analysis.go, reconcileStepBasedAnalysisRun, and rollout/canary.go: an analysis step passes only on
  Successful; Failed or Error aborts the rollout (stable keeps serving); Inconclusive pauses it for a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from rollgate.rehearse.argo import Metric
from rollgate.rehearse.conditions import ConditionError

ERROR_RETRY_S = 10.0


class Phase(StrEnum):
    """Argo's AnalysisPhase, with its names."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    ERROR = "Error"
    INCONCLUSIVE = "Inconclusive"

    @property
    def completed(self) -> bool:
        return self not in (Phase.PENDING, Phase.RUNNING)


_BEST_FIRST = (Phase.SUCCESSFUL, Phase.RUNNING, Phase.PENDING, Phase.INCONCLUSIVE, Phase.ERROR, Phase.FAILED)
_TERMINATING = (Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE)


@dataclass(frozen=True)
class Measurement:
    """One finished measurement; `at` is when it finished (Argo schedules the next from then)."""

    phase: Phase
    at: float
    value: float | list[float] | None = None
    message: str = ""

    def __post_init__(self) -> None:
        if not self.phase.completed:
            raise ValueError(f"a Prometheus measurement finishes at once, never {self.phase}")


def evaluate(metric: Metric, result: float | list[float]) -> Phase:
    """One measurement's phase from its query result, as Argo's EvaluateResult."""
    return measurement(metric, result, 0.0).phase


def measurement(metric: Metric, result: float | list[float], at: float) -> Measurement:
    """The Measurement of `result` finished at `at`, an evaluation error's message kept."""
    try:
        success = metric.success.holds(result) if metric.success else None
        failure = metric.failure.holds(result) if metric.failure else None
    except ConditionError as e:
        return Measurement(Phase.ERROR, at, result, str(e))
    if success is None and failure is None:
        return Measurement(Phase.SUCCESSFUL, at, result)
    failure = (not success) if failure is None else failure
    success = (not failure) if success is None else success
    phase = Phase.FAILED if failure else Phase.SUCCESSFUL if success else Phase.INCONCLUSIVE
    return Measurement(phase, at, result)


def assess(metric: Metric, measurements: Sequence[Measurement], terminating: bool = False) -> Phase:
    """The metric's phase after these measurements (Argo's assessMetricStatus); stop measuring once completed."""
    if not measurements:
        return Phase.SUCCESSFUL if terminating else Phase.PENDING
    phases = [m.phase for m in measurements]
    if limited := _over_limits(metric, phases):
        return limited
    successes = metric.consecutive_success_limit
    if successes > 0 and _trailing(phases, Phase.SUCCESSFUL) >= successes:
        return Phase.SUCCESSFUL
    if metric.count is not None and len(phases) - phases.count(Phase.ERROR) >= metric.count:
        if successes > 0:  # the count ran out before enough successes in a row
            return Phase.INCONCLUSIVE if metric.failure_limit >= 0 else Phase.FAILED
        return Phase.SUCCESSFUL
    return Phase.SUCCESSFUL if terminating else Phase.RUNNING


def assess_run(phases: Mapping[str, Phase]) -> Phase:
    """The AnalysisRun's phase from its metrics' (dry-run metrics left out): see the module docstring."""
    if not phases:
        raise ValueError("an analysis run needs at least one metric that is not a dry run")
    if any(p in _TERMINATING for p in phases.values()) or all(p.completed for p in phases.values()):
        return max((p for p in phases.values() if p.completed), key=_BEST_FIRST.index)
    return Phase.RUNNING


def next_due(metric: Metric, measurements: Sequence[Measurement], started_at: float = 0.0) -> float | None:
    """When the metric's next measurement is due, on the clock of `started_at` and `Measurement.at`; None when
    it needs no more. The caller also stops when the run terminates (`assess_run` completed)."""
    if assess(metric, measurements).completed:
        return None
    if not measurements:
        return started_at + metric.initial_delay_s
    last = measurements[-1]
    if last.phase is Phase.ERROR:
        return last.at + ERROR_RETRY_S
    return None if metric.interval_s is None else last.at + metric.interval_s


def rollout_outcome(run_phase: Phase) -> str:
    """What an analysis step's verdict does to the rollout: "promote", "abort" or "inconclusive" (paused)."""
    outcomes = {Phase.SUCCESSFUL: "promote", Phase.FAILED: "abort", Phase.ERROR: "abort"}
    if not run_phase.completed:
        raise ValueError(f"the analysis run is still {run_phase}")
    return outcomes.get(run_phase, "inconclusive")


def _over_limits(metric: Metric, phases: list[Phase]) -> Phase | None:
    """Argo checks failed, inconclusive, then consecutive errors, each one met overriding the one before."""
    phase = None
    if metric.failure_limit >= 0 and phases.count(Phase.FAILED) > metric.failure_limit:
        phase = Phase.FAILED
    if phases.count(Phase.INCONCLUSIVE) > metric.inconclusive_limit:
        phase = Phase.INCONCLUSIVE
    if _trailing(phases, Phase.ERROR) > metric.consecutive_error_limit:
        phase = Phase.ERROR
    return phase


def _trailing(phases: list[Phase], phase: Phase) -> int:
    """How many of the last measurements in a row had this phase."""
    run = 0
    for p in reversed(phases):
        if p is not phase:
            break
        run += 1
    return run
