"""The two experiments, seed by seed: drift-free weekly runs (false alarms) and runs over a shift
(detection delay). Each seed's weeks are drawn once and judged at every sampling rate."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from benchmarks.monitor.runs import Outcome, Setup, sampled, weekly_run

CURRENT_WEEK = 20  # drift-free runs: the week just ended (any week after training and holdout will do)
DRIFT_FREE_SEED, SHIFT_SEED = 100_000, 200_000  # keep the simulated weeks apart from the training seeds


def lag_weeks(maturity: timedelta) -> int:
    """How many weeks after its own run a cohort is due: its labels matured by the run's end."""
    return math.ceil(maturity / timedelta(weeks=1))


@dataclass(frozen=True)
class Task:
    seed: int
    shares: tuple[float, ...]
    shift: str = "none"
    horizon: int = 0  # shift runs: how many runs after the first that could see it


def drift_free(setup: Setup, task: Task) -> list[Outcome]:
    """One weekly run per sampling rate on a fresh drift-free week and its due cohort."""
    seed = DRIFT_FREE_SEED + task.seed
    lag = lag_weeks(setup.world.maturity)
    current = setup.world.week(CURRENT_WEEK, seed)
    cohort = setup.world.week(CURRENT_WEEK - lag, seed)
    return [
        weekly_run(setup, sampled(current, share, seed), sampled(cohort, share, seed), f"free-{task.seed}")
        for share in task.shares
    ]


def first_visible(setup: Setup, shift: str, start: int) -> int:
    """The first run that can see the shift: its first week's (inputs move), or the run its first
    cohort's labels mature in (`fraud_wave` moves only the labels)."""
    return start + (lag_weeks(setup.world.maturity) if shift == "fraud_wave" else 0)


def delays(setup: Setup, task: Task, start: int) -> list[int | None]:
    """Per sampling rate, the weeks from the shift becoming visible to the first alarm (1: the first
    run that could see it alarmed); None: no alarm within the horizon."""
    seed, lag = SHIFT_SEED + task.seed, lag_weeks(setup.world.maturity)
    visible = first_visible(setup, task.shift, start)
    found: list[int | None] = [None] * len(task.shares)
    for run in range(visible, visible + task.horizon):
        current = setup.world.week(run, seed, task.shift)
        c = run - lag
        cohort = setup.world.week(c, seed, task.shift if c >= start else "none")
        for i, share in enumerate(task.shares):
            if found[i] is None:
                outcome = weekly_run(setup, sampled(current, share, seed), sampled(cohort, share, seed),
                                     f"{task.shift}-{task.seed}-{run}")  # fmt: skip
                if outcome.retrain or outcome.revert:
                    found[i] = run - visible + 1
        if all(f is not None for f in found):
            break
    return found
