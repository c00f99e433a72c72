"""One rollout as Argo Rollouts runs it on the rendered plan: at each analysed step, every metric takes
`count` measurements `interval` apart, each over the last `window` (overlapping windows summed from
per-interval counts); a metric fails once its failures exceed its failureLimit and is inconclusive once
its empty results exceed its inconclusiveLimit (Argo checks both after each measurement). A failed
metric fails the run (the rollout aborts); otherwise an inconclusive one pauses it (a person decides).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchmarks.canary import reference, traffic
from benchmarks.canary.template import Metric, Plan, Step
from rollgate.serve.metrics import LATENCY_BUCKETS


@dataclass(frozen=True)
class Outcome:
    verdict: str  # "aborted", "paused" (inconclusive analysis) or "promoted"
    step: str | None  # where it aborted or paused
    metrics: tuple[str, ...] = ()  # the failed (aborted) or inconclusive (paused) metrics at that step


def judge(metric: Metric, values: list[float | None]) -> str:
    """The metric's phase from its measurements in order: "failed", "inconclusive" or "successful"."""
    failed = inconclusive = 0
    for value in values[: metric.count]:
        if value is None:
            inconclusive += 1
        elif math.isnan(value) or value > metric.threshold:
            failed += 1
        if failed > metric.failure_limit:
            return "failed"
        if inconclusive > metric.inconclusive_limit:
            return "inconclusive"
    return "successful"


def _intervals(plan: Plan) -> tuple[int, int, int]:
    """(interval seconds, intervals per window, intervals to simulate) for the plan's metrics."""
    (interval_s,) = {m.interval_s for m in plan.metrics}  # one interval for all: the template renders one
    if plan.window_s % interval_s:
        raise ValueError(f"the window ({plan.window_s}s) is not a whole number of intervals ({interval_s}s)")
    per_window = plan.window_s // interval_s
    return interval_s, per_window, max(m.count for m in plan.metrics) - 1 + per_window


def analysis(rng: np.random.Generator, plan: Plan, step: Step, sides: tuple[traffic.Model, traffic.Model],
             window_requests: float) -> tuple[str, tuple[str, ...]]:  # fmt: skip
    """The run's phase at `step` and the metrics in that phase; `window_requests`: all scoring requests per window."""
    interval_s, per_window, n = _intervals(plan)
    mean = window_requests * interval_s / plan.window_s
    c = np.stack([traffic.interval(rng, sides[0], mean * step.canary_share) for _ in range(n)])
    s = np.stack([traffic.interval(rng, sides[1], mean * step.stable_share) for _ in range(n)])
    measured = [
        reference.values(traffic.side(c[k : k + per_window].sum(0)), traffic.side(s[k : k + per_window].sum(0)),
                         plan, LATENCY_BUCKETS)
        for k in range(n - per_window + 1)
    ]  # fmt: skip
    phases = {m.name: judge(m, [v[m.name] for v in measured]) for m in plan.metrics}
    for phase in ("failed", "inconclusive"):  # the worst phase wins, as in Argo's assessRunStatus
        names = tuple(name for name, p in phases.items() if p == phase)
        if names:
            return phase, names
    return "successful", ()


def run(rng: np.random.Generator, plan: Plan, sides: tuple[traffic.Model, traffic.Model],
        window_requests: float) -> Outcome:  # fmt: skip
    """The rollout through every analysed step of the plan, canary `sides[0]` against stable `sides[1]`."""
    for step in plan.steps:
        phase, names = analysis(rng, plan, step, sides, window_requests)
        if phase != "successful":
            return Outcome("aborted" if phase == "failed" else "paused", step.name, names)
    return Outcome("promoted", None)
