"""The domain classifier: joint drift the marginals cannot see, deterministic, never on noise."""

from __future__ import annotations

import numpy as np
import pytest

from rollgate.monitor.baseline import Reference
from rollgate.monitor.domain import domain_drift
from rollgate.monitor.drift import feature_drift
from rollgate.monitor.policy import Policy
from tests.monitor import world

pytestmark = pytest.mark.unit


def test_a_flipped_correlation_is_caught_by_the_domain_classifier_only(reference: Reference) -> None:
    current = world.rows(np.random.default_rng(21), 9000, rho=-0.8)  # x1 and x2 keep their N(0, 1) marginals
    assert not feature_drift(current, reference, window="w").alarms
    family = domain_drift(current, reference, window="w")
    (finding,) = family.alarms
    assert finding.effect == "auc" and finding.effect_value > 0.6 and finding.p_value < 1e-10
    assert finding.rows == finding.reference_rows == 2500  # half of 5,000 a side is held out


def test_iid_rows_do_not_alarm_and_the_auc_stays_near_a_half(reference: Reference) -> None:
    families = [domain_drift(world.rows(np.random.default_rng(s), 3000), reference, window="w") for s in range(5)]
    assert not any(f.alarms for f in families)
    assert all(abs(f.findings[0].effect_value - 0.5) < 0.05 for f in families)


def test_the_same_seed_gives_the_same_answer_and_the_window_is_capped(reference: Reference) -> None:
    current = world.rows(np.random.default_rng(22), 20_000, rho=0.5)
    policy = Policy(domain_rows=1000, seed=3)
    first, second = (domain_drift(current, reference, window="w", policy=policy) for _ in range(2))
    assert first == second and first.findings[0].rows == 500


def test_a_window_too_small_is_not_judged(reference: Reference) -> None:
    family = domain_drift(world.rows(np.random.default_rng(23), 15), reference, window="w")
    assert not family.judged and "fewer than 20" in family.reason and not family.alarms
