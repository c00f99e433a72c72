"""Fixtures of the monitor's tests: one reference from the synthetic world, built once per session."""

from __future__ import annotations

import numpy as np
import pytest

from rollgate.monitor.baseline import Reference
from rollgate.monitor.reference import Holdout, build_reference
from tests.monitor import world

WEEKS, WEEK_ROWS, HOLDOUT_ROWS = 8, 2000, 12000


@pytest.fixture(scope="session")
def reference() -> Reference:
    """8 training weeks of 2,000 rows and a 12,000-row holdout (about 8 % positives)."""
    rng = np.random.default_rng(20260101)
    train = world.training(rng, WEEKS, WEEK_ROWS)
    holdout = world.rows(rng, HOLDOUT_ROWS)
    return build_reference(
        train,
        "week",
        numeric=world.NUMERIC,
        categorical=world.CATEGORICAL,
        holdout=Holdout(world.score(holdout), world.labels(rng, holdout), threshold=0.1),
    )
