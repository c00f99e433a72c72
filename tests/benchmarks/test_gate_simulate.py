"""The gate benchmark's simulation: quality known by construction, and its report's format."""

from __future__ import annotations

import re

import numpy as np
import pytest
from benchmarks.gate import simulate

from rollgate.contracts.errors import RollgateError
from rollgate.params import GateParams

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def small() -> tuple[object, np.ndarray]:
    return simulate.holdout(weeks=1, rows_per_week=4_000)


def test_the_better_model_is_better_by_exactly_the_effect(small: tuple[object, np.ndarray]) -> None:
    _, logit = small
    noise = simulate.better_noise(logit, 0.013, seed=1)
    assert noise < simulate.OWN_NOISE
    gain = simulate.expected_auc(logit, noise, np.random.default_rng(5), draws=20) - simulate.expected_auc(
        logit, simulate.OWN_NOISE, np.random.default_rng(5), draws=20
    )
    assert gain == pytest.approx(0.013, abs=0.002)


def test_an_unreachable_effect_is_refused(small: tuple[object, np.ndarray]) -> None:
    _, logit = small
    with pytest.raises(RollgateError, match="more than removing all own noise"):
        simulate.better_noise(logit, 0.4, seed=1)


def test_the_benchmark_runs_the_real_decision_and_ends_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    last = simulate.run(seeds=6, policy=GateParams(), weeks=1, rows_per_week=3_000)
    assert re.fullmatch(
        r"false_promotion=[01]\.\d{4} false_promotion_upper95=[01]\.\d{4} power=[01]\.\d{4} "
        r"naive_false_promotion=[01]\.\d{4} seeds=6",
        last,
    )
    table = capsys.readouterr().out
    assert "equal (false promotion)" in table and "better by 0.013 (power)" in table
