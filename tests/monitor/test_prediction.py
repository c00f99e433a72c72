"""Prediction drift: the score distribution and the flag rate against the holdout's."""

from __future__ import annotations

import numpy as np
import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.monitor.baseline import Reference
from rollgate.monitor.prediction import prediction_drift
from tests.monitor import world

pytestmark = pytest.mark.unit


def _scores(seed: int, n: int, **shift: float) -> np.ndarray:
    return world.score(world.rows(np.random.default_rng(seed), n, **shift))


def test_scores_like_the_holdouts_do_not_drift(reference: Reference) -> None:
    assert reference.score is not None
    family = prediction_drift(_scores(31, 9000), reference.score, window="w")
    assert [f.subject for f in family.findings] == ["score", "score", "flag_rate"] and not family.alarms


def test_a_score_shift_moves_the_distribution_and_the_flag_rate(reference: Reference) -> None:
    assert reference.score is not None
    scores = np.clip(_scores(32, 9000) * 1.6, 0, 1)
    family = prediction_drift(scores, reference.score, window="w")
    alarming = {(f.test, f.level) for f in family.alarms}
    assert ("fisher", "major") in alarming and ("ks", "major") in alarming
    flag = family.findings[2]
    assert flag.statistic == pytest.approx(np.mean(scores >= 0.1)) and flag.reference_rows == 12000


def test_a_few_flags_in_a_small_window_are_no_alarm(reference: Reference) -> None:
    assert reference.score is not None
    pool = _scores(33, 400)
    scores = np.r_[pool[pool < 0.1][:18], pool[pool >= 0.1][:12]]  # 40 % flagged against 21 %, on 30 rows
    family = prediction_drift(scores, reference.score, window="w")
    flag = family.findings[2]
    assert flag.effect_value > 1.5 and not flag.significant and not flag.alarm  # Fisher: p 0.02 on 30 rows


@pytest.mark.parametrize(("scores", "message"), [([], "no rows"), ([0.1, np.nan, np.inf], "2 non-finite scores")])
def test_bad_scores_name_the_window(reference: Reference, scores: list[float], message: str) -> None:
    assert reference.score is not None
    with pytest.raises(RollgateError, match=f"window 2026-W07: .*{message}"):
        prediction_drift(np.array(scores), reference.score, window="2026-W07")
