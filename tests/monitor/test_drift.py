"""Input drift per window: alarms on real shifts, not on noise in small windows or trivia in huge ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rollgate.contracts.errors import RollgateError
from rollgate.monitor.baseline import Reference
from rollgate.monitor.drift import drifted, feature_drift
from rollgate.monitor.findings import Finding, Floors, judge
from rollgate.monitor.reference import build_reference
from tests.monitor import world

pytestmark = pytest.mark.unit


def _finding(p: float, effect: float = 1.0) -> Finding:
    return Finding("drift", f"f{p}", "chi2", 0.0, p, "psi", effect, Floors(0.1, 0.25), 100, 1000)


def test_iid_window_does_not_drift(reference: Reference) -> None:
    family = feature_drift(world.rows(np.random.default_rng(11), 9000), reference, window="2026-W10")
    assert family.judged and not family.alarms
    assert len(family.findings) == 2 * len(world.NUMERIC) + len(world.CATEGORICAL)


def test_inflated_amounts_drift(reference: Reference) -> None:
    family = feature_drift(world.rows(np.random.default_rng(12), 9000, amount=1.5), reference, window="w")
    assert drifted(family) == {"amount": "major"}
    ks = next(f for f in family.alarms if f.test == "ks")
    assert ks.effect_value > 0.1 and ks.rows == 9000 and ks.reference_rows == reference.rows


def test_a_new_category_drifts(reference: Reference) -> None:
    family = feature_drift(world.rows(np.random.default_rng(13), 9000, new_category=0.05), reference, window="w")
    assert drifted(family) == {"channel": "major"}  # PSI of a 5 % unseen share: 0.05 ln(0.05 / 1e-4) = 0.31


def test_the_effect_floor_stops_a_huge_window_alarming_on_a_trivial_shift(reference: Reference) -> None:
    family = feature_drift(world.rows(np.random.default_rng(14), 300_000, amount=1.08), reference, window="w")
    amount = [f for f in family.findings if f.subject == "amount"]
    assert any(f.significant for f in amount)  # the shift is real and, at this size, significant
    assert all(f.level == "none" for f in amount) and not family.alarms


def test_a_tiny_window_does_not_alarm_on_noise(reference: Reference) -> None:
    families = [feature_drift(world.rows(np.random.default_rng(s), 40), reference, window="w") for s in range(30)]
    assert not any(f.alarms for f in families)
    psi = [f.effect_value for family in families for f in family.findings if f.effect == "psi"]
    assert max(psi) > 0.1  # a PSI line alone would have alarmed


def test_holm_orders_the_p_values() -> None:
    family = judge("drift", [_finding(0.004), _finding(0.03), _finding(0.012), _finding(0.5)], alpha=0.05)
    assert [f.p_adjusted for f in family.findings] == pytest.approx([0.016, 0.06, 0.036, 0.5])
    assert [f.alarm for f in family.findings] == [True, False, True, False]


def test_significance_without_effect_or_below_the_alarm_level_does_not_alarm() -> None:
    family = judge("drift", [_finding(1e-9, effect=0.05), _finding(1e-9, effect=0.2)], alpha=0.01)
    assert [(f.significant, f.alarm) for f in family.findings] == [(True, False), (True, True)]
    major_only = judge("drift", [_finding(1e-9, effect=0.2)], alpha=0.01, alarm_level="major")
    assert not major_only.alarms


def test_week_to_week_variation_widens_the_null() -> None:
    rng = np.random.default_rng(15)
    train = world.training(rng, 8, 3000)
    train["x1"] = train["x1"] + rng.normal(0, 0.1, 8)[np.repeat(np.arange(8), 3000)]
    current = world.rows(rng, 3000)
    current["x1"] = current["x1"] + 0.1  # a week like the training weeks, one sd of their spread away
    by_week = build_reference(train, "week", numeric=["x1"])
    pooled = build_reference(train, np.zeros(len(train)), numeric=["x1"])  # one block: i.i.d. theory
    wide, narrow = (feature_drift(current, r, window="w").findings for r in (by_week, pooled))
    assert all(w.dispersion > 2 and n.dispersion == 1 for w, n in zip(wide, narrow, strict=True))
    assert all(w.p_value > 100 * n.p_value for w, n in zip(wide, narrow, strict=True))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (world.rows(np.random.default_rng(1), 10).iloc[:0], "window 2026-W05: no rows"),
        (world.rows(np.random.default_rng(1), 10).drop(columns="x2"), "window 2026-W05: column 'x2' missing"),
        (world.rows(np.random.default_rng(1), 10).assign(count="many"), "window 2026-W05: column 'count' is not"),
    ],
)
def test_bad_windows_name_the_window_and_column(reference: Reference, frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(RollgateError, match=message):
        feature_drift(frame, reference, window="2026-W05")
