"""A window judged end to end, its JSON record, and the run's verdict with retrain and revert apart."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.monitor.assess import Columns, assess_window
from rollgate.monitor.baseline import Reference
from rollgate.monitor.budget import PER_COHORT, PER_WINDOW, Budget, split
from rollgate.monitor.report import WindowResult, verdict
from rollgate.monitor.windows import Window
from tests.monitor import world

pytestmark = pytest.mark.unit
ALL = Columns(score="score", label="label", previous="previous")


def _window(frame: pd.DataFrame, wid: str = "2026-W10") -> Window:
    return Window(wid, "2026-03-02T00:00:00", "2026-03-09T00:00:00", "left", len(frame), frame)


def _assess(reference: Reference, frame: pd.DataFrame, wid: str = "2026-W10", due: bool = True) -> WindowResult:
    alphas = split(Budget(0.01), windows=1, cohorts=1)
    return assess_window(_window(frame, wid), reference, columns=ALL, judge_performance=due, alphas=alphas)


def test_a_healthy_window_records_every_family_and_no_alarm(reference: Reference) -> None:
    result = _assess(reference, world.window_frame(np.random.default_rng(71), 9000))
    record = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert list(record["families"]) == [*PER_WINDOW, *PER_COHORT]
    assert record["rows"] == record["labelled_rows"] == 9000 and record["alarms"] == []
    assert record["families"]["drift"]["alpha"] == pytest.approx(0.01 / 7)
    amount = record["families"]["drift"]["findings"][0]
    assert amount["subject"] == "amount" and amount["rows"] == 9000 and amount["reference_rows"] == 16000
    assert not verdict([result]).alarm


def test_a_worse_deployed_model_asks_for_a_revert_apart_from_retraining(reference: Reference) -> None:
    result = _assess(reference, world.window_frame(np.random.default_rng(72), 9000, noise=1.5))
    run = verdict([result])
    assert [a.family for a in run.revert] == ["paired"] and run.revert[0].window == "2026-W10"
    assert "realized" in {a.family for a in run.retrain} and "paired" not in {a.family for a in run.retrain}
    assert "roc_auc: auc_drop" in run.revert[0].reason and run.to_dict()["alarm"] is True


def test_concept_drift_asks_for_retraining_only(reference: Reference) -> None:
    run = verdict([_assess(reference, world.window_frame(np.random.default_rng(73), 9000, concept=1.0))])
    assert {a.family for a in run.retrain} >= {"positives"} and run.revert == ()


def test_a_cohort_not_due_is_judged_on_drift_only(reference: Reference) -> None:
    frame = world.window_frame(np.random.default_rng(74), 3000)
    frame.loc[frame.index[:1000], "label"] = np.nan
    result = _assess(reference, frame, due=False)
    assert result.performance is None and result.labelled_rows == 2000
    assert [f.name for f in result.families] == ["drift", "domain", "prediction", "label_free"]


def test_the_verdict_collects_every_window(reference: Reference) -> None:
    results = [
        _assess(reference, world.window_frame(np.random.default_rng(75), 4000), "2026-W11", due=False),
        _assess(reference, world.window_frame(np.random.default_rng(76), 4000, amount=1.5), "2026-W12", due=False),
    ]
    run = verdict(results)
    assert run.windows == ("2026-W11", "2026-W12") and {a.window for a in run.retrain} == {"2026-W12"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.iloc[:0], "window 2026-W10: no rows"),
        (lambda f: f.drop(columns="score"), "window 2026-W10: column 'score' missing"),
        (lambda f: f.drop(columns="amount"), "window 2026-W10: column 'amount' missing"),
        (lambda f: f.assign(score=np.where(f.index == 3, np.nan, f["score"])), "column 'score' has 1 non-finite"),
    ],
)
def test_bad_windows_name_the_window_and_column(reference: Reference, change: object, message: str) -> None:
    frame = change(world.window_frame(np.random.default_rng(77), 200))  # type: ignore[operator]
    with pytest.raises(RollgateError, match=message):
        _assess(reference, frame)


def test_scores_need_a_reference_with_holdout_scores(reference: Reference) -> None:
    bare = Reference(reference.features, reference.weeks, reference.week_rows, reference.sample)
    with pytest.raises(RollgateError, match="reference has no holdout scores"):
        assess_window(_window(world.window_frame(np.random.default_rng(78), 100)), bare, columns=ALL)
