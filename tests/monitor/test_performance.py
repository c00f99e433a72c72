"""Performance on matured labels: realized metrics, concept drift, the paired comparison, "not judged"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from rollgate.contracts.errors import RollgateError
from rollgate.monitor.baseline import Reference
from rollgate.monitor.drift import feature_drift
from rollgate.monitor.metrics import ap_interval, average_precision, poisson_binomial_p
from rollgate.monitor.performance import Realized, realized_performance
from rollgate.monitor.policy import Policy
from tests.monitor import world

pytestmark = pytest.mark.unit


def _judge(reference: Reference, frame: pd.DataFrame, previous: bool = True, **kwargs: object) -> Realized:
    assert reference.score is not None
    return realized_performance(
        frame["score"].to_numpy(),
        frame["label"].to_numpy(dtype=float),
        reference.score,
        window="2026-W09",
        previous=frame["previous"].to_numpy() if previous else None,
        **kwargs,  # type: ignore[arg-type]
    )


def _alarming(result: Realized) -> set[str]:
    return {family.name for family in result.families if family.alarms}


def test_a_healthy_cohort_raises_nothing(reference: Reference) -> None:
    result = _judge(reference, world.window_frame(np.random.default_rng(51), 9000))
    assert _alarming(result) == set() and all(f.judged for f in result.families)
    assert result.labelled == 9000 and result.roc_auc_interval[0] < result.roc_auc < result.roc_auc_interval[1]
    assert result.average_precision_method == "bootstrap (200)"


def test_observed_vs_expected_flags_concept_drift_that_moves_no_input(reference: Reference) -> None:
    frame = world.window_frame(np.random.default_rng(52), 9000, concept=1.0)  # more positives, same inputs
    assert not feature_drift(frame, reference, window="w").alarms
    result = _judge(reference, frame)
    positives = next(f for f in result.families if f.name == "positives")
    (finding,) = positives.alarms
    assert finding.statistic > 10 and finding.effect_value > 1.5 and "paired" not in _alarming(result)


def test_the_paired_comparison_detects_a_worse_deployed_model(reference: Reference) -> None:
    result = _judge(reference, world.window_frame(np.random.default_rng(53), 9000, noise=1.5))
    assert {"paired", "realized"} <= _alarming(result)
    paired = next(f for f in result.families if f.name == "paired").findings[0]
    assert paired.effect_value == pytest.approx(result.previous_roc_auc - result.roc_auc) and paired.effect_value > 0.05


def test_without_a_previous_model_the_paired_family_is_not_judged(reference: Reference) -> None:
    result = _judge(reference, world.window_frame(np.random.default_rng(54), 3000), previous=False)
    paired = next(f for f in result.families if f.name == "paired")
    assert not paired.judged and "no previous" in paired.reason and np.isnan(result.previous_roc_auc)


def test_too_few_positives_is_not_judged_never_a_pass_or_a_fail(reference: Reference) -> None:
    frame = world.window_frame(np.random.default_rng(55), 3000)
    frame.loc[frame.index[60:], "label"] = np.nan  # labels arrived for 60 rows: about 5 positives
    result = _judge(reference, frame)
    assert result.labelled == 60 and result.positives < 10
    assert all(not f.judged and "fewer than 10" in f.reason for f in result.families) and not _alarming(result)
    assert len(result.families) == 3 and np.isnan(result.roc_auc)


def test_only_labelled_rows_count(reference: Reference) -> None:
    frame = world.window_frame(np.random.default_rng(56), 4000)
    frame.loc[frame.index[::2], "label"] = np.nan
    assert _judge(reference, frame).labelled == 2000


def test_fast_average_precision_is_scikit_learns() -> None:
    rng = np.random.default_rng(57)
    y = (rng.random(2000) < 0.1).astype(int)
    s = np.round(0.3 * y + rng.random(2000), 2)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_the_scaled_subsample_interval_agrees_with_the_full_bootstrap() -> None:
    rng = np.random.default_rng(58)
    y = (rng.random(20_000) < 0.05).astype(int)
    s = 0.8 * y + rng.normal(0, 1, 20_000)
    ap, full, method = ap_interval(y, s, Policy(resamples=100, ap_bootstrap_rows=20_000))
    _, scaled, other = ap_interval(y, s, Policy(resamples=100, ap_bootstrap_rows=4000))
    assert method == "bootstrap (100)" and other == "bootstrap (100) of 4000 rows, scaled by sqrt(4000/20000)"
    assert full[0] < ap < full[1] and scaled[0] < ap < scaled[1]
    assert scaled[1] - scaled[0] == pytest.approx(full[1] - full[0], rel=0.25)


def test_the_refined_normal_tail_is_close_to_the_exact_poisson_binomial() -> None:
    p = np.random.default_rng(59).uniform(0.001, 0.2, 400)
    exact = np.array([1.0])
    for q in p:  # the exact distribution by convolution
        exact = np.convolve(exact, [1 - q, q])
    for observed in (15, 20, 35, 45):
        upper, lower = exact[observed:].sum(), exact[: observed + 1].sum()
        _, pvalue = poisson_binomial_p(observed, p)
        assert pvalue == pytest.approx(min(1.0, 2 * min(upper, lower)), rel=0.15, abs=1e-3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(label=2), "window 2026-W09: column 'label' has labels other than 0 and 1"),
        (lambda f: f.assign(previous=np.nan), "window 2026-W09: column 'previous' has 100 non-finite"),
        (lambda f: f.assign(score=np.inf), "window 2026-W09: column 'score' has 100 non-finite"),
    ],
)
def test_bad_cohorts_name_the_window_and_column(reference: Reference, change: object, message: str) -> None:
    frame = change(world.window_frame(np.random.default_rng(60), 100))  # type: ignore[operator]
    with pytest.raises(RollgateError, match=message):
        _judge(reference, frame)
