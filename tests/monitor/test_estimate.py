"""Performance without labels: the expected AUC by definition, against realized AUCs, and its alarm."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from rollgate.monitor.baseline import Reference
from rollgate.monitor.estimate import drawn_aucs, expected_auc, label_free
from rollgate.monitor.scores import calibrate
from tests.monitor import world

pytestmark = pytest.mark.unit


def _by_definition(s: np.ndarray, p: np.ndarray) -> float:
    """E[C] / E[n+ n-] over distinct pairs, straight from the definition (O(n²))."""
    gain = (s[:, None] > s[None, :]) + 0.5 * (s[:, None] == s[None, :])
    weight = p[:, None] * (1 - p[None, :])
    np.fill_diagonal(weight, 0.0)
    return float(np.sum(weight * gain) / np.sum(weight))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_expected_auc_matches_the_definition_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    s = np.round(rng.random(300), 1)  # many ties
    p = np.clip(s * 0.6 + rng.normal(0, 0.1, 300), 0.01, 0.99)
    assert expected_auc(s, p) == pytest.approx(_by_definition(s, p), abs=1e-12)


def test_expected_auc_is_the_mean_of_realized_aucs_of_labels_drawn_from_p() -> None:
    rng = np.random.default_rng(4)
    s = rng.random(3000)
    p = 0.02 + 0.3 * s**2
    aucs = drawn_aucs(s, p, draws=400, seed=5)
    assert len(aucs) == 400 and aucs.mean() == pytest.approx(expected_auc(s, p), abs=0.002)


def test_each_draw_is_the_realized_auc_of_its_labels() -> None:
    s = np.random.default_rng(6).random(500)
    p = 0.1 + 0.5 * s
    # the labels `drawn_aucs` draws first with seed 7: float32 uniforms below p
    y = np.random.default_rng(7).random((1, 500), dtype=np.float32)[0] < p.astype(np.float32)
    assert drawn_aucs(s, p, draws=1, seed=7)[0] == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_the_label_free_estimate_is_close_to_the_realized_auc_on_calibrated_data(reference: Reference) -> None:
    assert reference.score is not None
    frame = world.window_frame(np.random.default_rng(41), 9000)
    estimate = label_free(frame["score"].to_numpy(), reference.score, window="w")
    realized = roc_auc_score(frame["label"], frame["score"])
    assert abs(estimate.roc_auc - realized) < 0.02
    assert estimate.roc_auc_band[0] < realized < estimate.roc_auc_band[1]
    low, high = estimate.expected_positives_band
    assert low < frame["label"].sum() < high and estimate.family.judged and not estimate.family.alarms


def test_covariate_shift_to_where_the_model_separates_worse_alarms_without_labels(reference: Reference) -> None:
    assert reference.score is not None
    frame = world.rows(np.random.default_rng(42), 9000)
    frame["x1"] = frame["x1"] * 0.3  # the strongest signal barely varies: the ranking gets harder
    estimate = label_free(world.score(frame), reference.score, window="w")
    (alarm,) = estimate.family.alarms
    assert alarm.effect == "auc_drop" and alarm.effect_value > 0.05


def test_too_few_expected_positives_is_not_judged(reference: Reference) -> None:
    assert reference.score is not None
    estimate = label_free(np.full(50, 0.01), reference.score, window="w")
    assert not estimate.family.judged and "fewer than 10" in estimate.family.reason
    assert np.isnan(estimate.roc_auc) and estimate.to_dict()["roc_auc"] is None


def test_the_band_is_repeatable_with_the_seed(reference: Reference) -> None:
    assert reference.score is not None
    scores = world.window_frame(np.random.default_rng(43), 2000)["score"].to_numpy()
    first, second = (label_free(scores, reference.score, window="w") for _ in range(2))
    assert first == second and first.draws == 200
    assert calibrate(scores, reference.score).sum() == pytest.approx(first.expected_positives)
