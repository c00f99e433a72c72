"""One false-alarm budget per run, and each cohort judged once."""

from __future__ import annotations

from dataclasses import astuple, replace

import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.monitor.budget import EQUAL, FAMILIES, PER_COHORT, PER_WINDOW, Budget, Maturity, due_for_judgment, split

pytestmark = pytest.mark.unit


def _spent(alphas: object, windows: int, cohorts: int) -> float:
    """What a run spends: each family's alpha times the windows it judges."""
    per = dict(zip(FAMILIES, astuple(alphas), strict=True))  # type: ignore[call-overload]
    return sum(per[f] * windows for f in PER_WINDOW) + sum(per[f] * cohorts for f in PER_COHORT)


@pytest.mark.parametrize(("windows", "cohorts"), [(1, 1), (4, 1), (1, 3), (12, 5)])
def test_the_run_spends_exactly_its_alpha(windows: int, cohorts: int) -> None:
    alphas = split(Budget(0.01), windows=windows, cohorts=cohorts)
    assert _spent(alphas, windows, cohorts) == pytest.approx(0.01)
    assert alphas.drift == pytest.approx(0.01 / 7 / windows) and alphas.paired == pytest.approx(0.01 / 7 / cohorts)


def test_families_that_cannot_run_give_their_share_to_the_others() -> None:
    alphas = split(Budget(0.01), windows=2, cohorts=0, families=[f for f in FAMILIES if f != "domain"])
    assert alphas.domain == alphas.realized == alphas.positives == alphas.paired == 0.0
    assert alphas.drift == pytest.approx(0.01 / 3 / 2) and _spent(alphas, 2, 0) == pytest.approx(0.01)


def test_weights_shift_the_split() -> None:
    budget = Budget(0.02, weights=replace(EQUAL, drift=3.0))
    alphas = split(budget, windows=1, cohorts=1)
    assert alphas.drift == pytest.approx(0.02 * 3 / 9) and alphas.domain == pytest.approx(0.02 / 9)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Budget(0.0), "strictly between 0 and 1"),
        (lambda: Budget(weights=replace(EQUAL, paired=-1.0)), "must not be negative"),
        (lambda: split(Budget(), windows=1, cohorts=1, families=["drift", "vibes"]), "unknown families"),
    ],
)
def test_a_bad_budget_is_refused(make: object, message: str) -> None:
    with pytest.raises(RollgateError, match=message):
        make()  # type: ignore[operator]


def test_cohorts_are_due_once_when_mature_and_never_again() -> None:
    cohorts = [
        Maturity("2026-W01", 9000, 9000, horizon_reached=True),
        Maturity("2026-W02", 9000, 8800, horizon_reached=True),
        Maturity("2026-W03", 9000, 4000, horizon_reached=False),
    ]
    first = due_for_judgment(cohorts, judged=set())
    assert first.due == ("2026-W01", "2026-W02") and first.waiting == ("2026-W03",) and first.judged == ()
    later = [*cohorts[:2], replace(cohorts[2], labelled=9000, horizon_reached=True)]
    second = due_for_judgment(later, judged=set(first.due))
    assert second.due == ("2026-W03",) and second.judged == ("2026-W01", "2026-W02")
    assert due_for_judgment(later, judged={"2026-W01", "2026-W02", "2026-W03"}).due == ()
