"""The run's false-alarm rate, by simulation: windows drawn from the training world raise no alarm more
often than the budget allows.

4 references x 50 drift-free windows = 200 runs, each judged on drift, prediction, label-free,
realized, positives and paired (the previous model is the same model) with the budget's split of a
run alpha of 0.05 (larger than the default 0.01 so that the check has something to measure). The
budget bounds the chance of any alarm in a run by 0.05: 10 expected in 200 at most; the test allows
18, which a correctly bounded rate exceeds with probability under 0.5 % (binomial(200, 0.05)). The
domain classifier, the slowest family, gets its own 40 runs at its share, 0.05 / 7: at most 0.3
false alarms expected, 3 allowed (a correctly bounded rate exceeds that with probability under
0.1 %). Small sizes and few draws keep it to seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from rollgate.monitor.assess import Columns, assess_window
from rollgate.monitor.baseline import Reference
from rollgate.monitor.budget import Budget, split
from rollgate.monitor.domain import domain_drift
from rollgate.monitor.policy import Policy
from rollgate.monitor.reference import Holdout, build_reference
from rollgate.monitor.windows import Window
from tests.monitor import world

pytestmark = pytest.mark.unit

REFERENCES, WINDOWS, ROWS = 4, 50, 1000
ALPHAS = split(Budget(0.05), windows=1, cohorts=1)
COLUMNS = Columns("score", "label", "previous")
FAST = Policy(draws=50, resamples=20, domain_min_rows=10**9)  # no domain classifier here: see below


def _reference(rng: np.random.Generator) -> Reference:
    holdout = world.rows(rng, 4 * ROWS)
    return build_reference(
        world.training(rng, 8, ROWS), "week", numeric=world.NUMERIC, categorical=world.CATEGORICAL,
        holdout=Holdout(world.score(holdout), world.labels(rng, holdout), threshold=0.1),
    )  # fmt: skip


def test_drift_free_windows_stay_within_the_budget() -> None:
    alarmed, families = 0, set()
    for r in range(REFERENCES):
        rng = np.random.default_rng(1000 + r)
        reference = _reference(rng)
        for w in range(WINDOWS):
            window = Window(f"w{w}", None, None, "both", ROWS, world.window_frame(rng, ROWS))
            result = assess_window(
                window, reference, columns=COLUMNS, judge_performance=True, alphas=ALPHAS, policy=FAST
            )
            assert not result.domain.judged
            alarmed += bool(result.alarms)
            families |= {a.family for a in result.alarms}
    assert alarmed <= 18, f"{alarmed} of {REFERENCES * WINDOWS} drift-free runs alarmed ({sorted(families)})"


def test_the_domain_classifier_stays_within_its_share() -> None:
    rng = np.random.default_rng(2000)
    reference = _reference(rng)
    policy = Policy(domain_rows=600, domain_iterations=15)
    runs = [
        domain_drift(world.rows(rng, ROWS), reference, window=f"w{i}", alphas=ALPHAS, policy=policy) for i in range(40)
    ]
    assert sum(bool(f.alarms) for f in runs) <= 3
