"""The reference: bins, week-to-week spread, the holdout's calibration and metrics, the JSON round trip."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from rollgate.contracts.errors import RollgateError
from rollgate.monitor.baseline import Reference
from rollgate.monitor.policy import Policy
from rollgate.monitor.reference import Holdout, ReferenceSettings, build_reference
from rollgate.monitor.scores import calibrate
from tests.monitor import world

pytestmark = pytest.mark.unit


def test_numeric_feature_has_deciles_a_missing_bin_and_a_sketch(reference: Reference) -> None:
    amount = reference.feature("amount")
    assert amount.edges[0] == -np.inf and amount.edges[-1] == np.inf and len(amount.edges) == 11
    assert len(amount.counts) == len(amount.edges) and amount.counts[-1] == 0  # no missing amounts
    shares = np.array(amount.counts[:-1]) / amount.rows
    assert shares == pytest.approx(np.full(10, 0.1), abs=1e-3)
    assert amount.rows == reference.rows == 16000 and amount.grid_cdf[-1] == 1.0


def test_categorical_feature_has_an_unseen_bin(reference: Reference) -> None:
    channel = reference.feature("channel")
    assert channel.categories == ("web", "pos", "app") and len(channel.counts) == 4 and channel.counts[-1] == 0


def test_categories_beyond_the_limit_count_as_unseen() -> None:
    frame = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 3 + ["c"] * 2, "w": [0, 1] * 5})
    ref = build_reference(frame, "w", numeric=[], categorical=["c"], settings=ReferenceSettings(max_categories=2))
    assert ref.feature("c").categories == ("a", "b") and ref.feature("c").counts == (5, 3, 2)


def test_iid_weeks_show_no_excess_and_varying_weeks_do() -> None:
    rng = np.random.default_rng(7)
    steady = world.training(rng, 8, 3000)
    moving = steady.copy()
    week = np.repeat(np.arange(8), 3000)
    moving["x1"] = moving["x1"] + rng.normal(0, 0.1, 8)[week]  # each week its own mean: real variation
    weeks = np.array(steady["week"])
    flat = build_reference(steady, weeks, numeric=["x1"]).feature("x1").spread
    varied = build_reference(moving, weeks, numeric=["x1"]).feature("x1").spread
    assert len(flat.psi) == len(flat.chi2) == len(flat.ks) == 8
    assert flat.chi2_dispersion(3000) < 1.3 and flat.ks_dispersion(3000) < 1.3
    assert varied.chi2_dispersion(3000) > 2 and varied.ks_dispersion(3000) > 2


def test_one_week_gives_the_iid_null() -> None:
    frame = world.rows(np.random.default_rng(1), 500)
    ref = build_reference(frame, np.zeros(500), numeric=["x1"])
    assert ref.feature("x1").spread.chi2_dispersion(1e6) == 1.0


def test_calibration_is_the_isotonic_fit_on_the_holdout(reference: Reference) -> None:
    rng = np.random.default_rng(20260101)
    world.training(rng, 8, 2000)  # the fixture's draws, in order
    holdout = world.rows(rng, 12000)
    s, y = world.score(holdout), world.labels(rng, holdout)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(s, y)
    probe = np.r_[-1.0, np.linspace(0, 1, 101), 2.0]
    assert reference.score is not None
    assert calibrate(probe, reference.score) == pytest.approx(iso.predict(probe), abs=1e-12)
    assert reference.score.roc_auc == pytest.approx(roc_auc_score(y, s))
    assert reference.score.average_precision == pytest.approx(average_precision_score(y, s))
    assert reference.score.positives == y.sum() and reference.score.flagged == (s >= 0.1).sum()


def test_json_round_trip_is_exact_and_finite(reference: Reference) -> None:
    text = json.dumps(reference.to_dict(), allow_nan=False)
    raw = json.loads(text)
    assert raw["features"]["amount"]["edges"][0] == "-inf" and raw["features"]["amount"]["edges"][-1] == "+inf"
    assert raw["score"]["edges"][0] == "-inf" and set(raw["sample"]) == {*world.NUMERIC, *world.CATEGORICAL}
    assert Reference.from_dict(raw) == reference


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=9), "version 9"),
        (lambda d: d["features"]["amount"].update(edges=[0, 1]), '"-inf" to "+inf"'),
        (lambda d: d["features"]["amount"].update(kind="text"), "kind 'text'"),
        (lambda d: d.pop("sample"), "malformed"),
    ],
)
def test_a_malformed_baseline_is_refused(reference: Reference, change: object, message: str) -> None:
    raw = json.loads(json.dumps(reference.to_dict()))
    change(raw)  # type: ignore[operator]
    with pytest.raises(RollgateError, match=re.escape(message)):
        Reference.from_dict(raw)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"numeric": ["nope"]}, "no column 'nope'"),
        ({"numeric": ["x1"], "weeks": "when"}, "no week column 'when'"),
        ({"numeric": ["x1"], "weeks": [1, 2]}, "every row needs a week label"),
        ({"numeric": ["x1"], "holdout": Holdout(np.array([0.1, np.nan]), np.array([0, 1]))}, "finite"),
        ({"numeric": ["x1"], "holdout": Holdout(np.array([0.1, 0.2]), np.array([0, 0]))}, "both classes"),
        ({"numeric": ["inf"]}, "'inf' has infinite values"),
        ({"numeric": ["none"]}, "'none' has no values"),
    ],
)
def test_bad_training_input_names_the_problem(kwargs: dict[str, object], message: str) -> None:
    frame = world.training(np.random.default_rng(2), 2, 50).assign(inf=np.inf, none=np.nan)
    args: dict[str, object] = {"weeks": "week"} | kwargs
    with pytest.raises(RollgateError, match=message):
        build_reference(frame, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ReferenceSettings(max_categories=300), "max_categories in 1..250"),
        (lambda: Policy(alarm_level="loud"), "alarm_level 'loud'"),
        (lambda: Policy(confidence=1.0), "strictly between 0 and 1"),
        (lambda: Policy(min_positives=1), "at least 2"),
    ],
)
def test_bad_settings_are_refused(make: object, message: str) -> None:
    with pytest.raises(RollgateError, match=message):
        make()  # type: ignore[operator]
