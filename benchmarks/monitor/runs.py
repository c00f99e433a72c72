"""One weekly run of the monitor, as `rollgate monitor` would make it at the end of a week: the week
just ended judged for drift, joint drift, prediction drift and the label-free estimate, and the one
cohort whose labels matured this week judged on its realized performance — once, under the run's one
false-alarm budget (`budget.split` for one window and one cohort)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.monitor.model import Scorer
from benchmarks.monitor.world import Week, World, labels_known
from rollgate.contracts.errors import RollgateError
from rollgate.monitor.assess import Columns, assess_window
from rollgate.monitor.baseline import Reference
from rollgate.monitor.budget import Budget, split
from rollgate.monitor.performance import realized_performance
from rollgate.monitor.policy import DEFAULT_POLICY, Policy
from rollgate.monitor.report import REVERT_FAMILIES
from rollgate.monitor.scores import ScoreReference
from rollgate.monitor.windows import Window

DEFAULT_BUDGET = Budget()


@dataclass(frozen=True)
class Setup:
    world: World
    reference: Reference
    deployed: Scorer
    previous: Scorer  # the previous known-good model, as good as the deployed one
    budget: Budget = DEFAULT_BUDGET  # the run's total alpha, 0.01 by default
    policy: Policy = DEFAULT_POLICY


@dataclass(frozen=True)
class Outcome:
    retrain: tuple[str, ...]  # the families that raised a retrain alarm
    revert: tuple[str, ...]
    cohort_judged: bool  # the cohort had enough labelled positives to be judged


def sampled(week: Week, share: float, seed: int) -> Week:
    """The week as a `share` log would hold it: a uniform row sample (all rows at 1.0)."""
    if share >= 1.0:
        return week
    rng = np.random.default_rng([seed, week.index, 7])
    rows = np.sort(rng.choice(len(week.frame), max(1, round(share * len(week.frame))), replace=False))
    return Week(week.index, week.start, week.frame.iloc[rows].reset_index(drop=True))


def weekly_run(setup: Setup, current: Week, cohort: Week, run_id: str) -> Outcome:
    """The run at the end of `current`, judging `cohort` with the labels arrived by then."""
    as_of = current.start + pd.Timedelta(days=7)
    alphas = split(setup.budget, windows=1, cohorts=1)
    frame = current.frame.assign(score=setup.deployed.score(current.frame))
    window = Window(run_id, current.start.isoformat(), as_of.isoformat(), "left", len(frame), frame)
    result = assess_window(window, setup.reference, columns=Columns("score"), alphas=alphas, policy=setup.policy)
    realized = realized_performance(
        setup.deployed.score(cohort.frame), labels_known(cohort, as_of), _score_reference(setup.reference),
        window=f"{run_id}-cohort", previous=setup.previous.score(cohort.frame), alphas=alphas, policy=setup.policy,
    )  # fmt: skip
    families = result.families + realized.families
    alarmed = [f.name for f in families if f.alarms]
    return Outcome(
        tuple(f for f in alarmed if f not in REVERT_FAMILIES),
        tuple(f for f in alarmed if f in REVERT_FAMILIES),
        any(f.judged for f in realized.families),
    )


def _score_reference(reference: Reference) -> ScoreReference:
    if reference.score is None:
        raise RollgateError("the benchmark's reference has no holdout scores")
    return reference.score
