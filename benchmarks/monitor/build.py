"""The benchmark's fixed starting point, built once: the reference from the world's training weeks and
a later labelled holdout week, the deployed model and a previous known-good one of the same quality."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.monitor import model
from benchmarks.monitor.runs import Setup
from benchmarks.monitor.world import LABEL, World
from rollgate.monitor.policy import Policy
from rollgate.monitor.reference import Holdout, build_reference

FLAG_SHARE = 0.01  # the operating threshold flags this share of the holdout
# The default policy but for average precision's bootstrap, over 1,000 labelled rows (default 10,000):
# AP's interval is reported, never judged, so no alarm depends on it, and it was half of a run's time.
POLICY = Policy(ap_bootstrap_rows=1000)


@dataclass(frozen=True)
class Plan:
    training_weeks: int = 12  # weeks 0..11 train the models and make the reference
    holdout_rows: int = 36_000  # week `training_weeks`, larger than a week so its calibration is steady
    seed: int = 0
    previous_seed: int = 1  # the previous model: trained on other weeks drawn the same way


def _weeks(world: World, plan: Plan, seed: int) -> pd.DataFrame:
    frames = [world.week(w, seed).frame.assign(week=f"week-{w:02d}") for w in range(plan.training_weeks)]
    return pd.concat(frames, ignore_index=True)


def setup(world: World, plan: Plan = Plan()) -> Setup:
    training = _weeks(world, plan, plan.seed)
    deployed = model.train(world, training, plan.seed)
    previous = model.train(world, _weeks(world, plan, plan.previous_seed), plan.previous_seed)
    holdout = world.week(plan.training_weeks, plan.seed, rows=plan.holdout_rows).frame
    scores = deployed.score(holdout)
    threshold = float(np.quantile(scores, 1 - FLAG_SHARE))
    reference = build_reference(
        training, "week", numeric=world.numeric, categorical=world.categorical,
        holdout=Holdout(scores, holdout[LABEL].to_numpy(), threshold),
    )  # fmt: skip
    return Setup(world, reference, deployed, previous, policy=POLICY)
