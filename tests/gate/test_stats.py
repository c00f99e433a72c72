"""The gate's statistics against independent computations and known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import average_precision_score, roc_auc_score

from rollgate.contracts.errors import RollgateError
from rollgate.gate import stats

pytestmark = pytest.mark.unit


def _pairs(seed: int, n: int = 400, rate: float = 0.2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    signal = y + rng.normal(0, 1.2, n)
    champion = signal + rng.normal(0, 0.8, n)
    challenger = signal + rng.normal(0, 0.6, n)
    return y, np.round(champion, 1), np.round(challenger, 1)  # rounding makes ties: midranks matter


def _delong_by_definition(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """DeLong, DeLong & Clarke-Pearson (1988) straight from the definition: O(m n) kernel, no ranks."""
    pos, neg = y == 1, y == 0
    m, n = pos.sum(), neg.sum()

    def components(s: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        x, z = s[pos][:, None], s[neg][None, :]
        psi = (x > z) + 0.5 * (x == z)
        return float(psi.mean()), psi.mean(axis=1), psi.mean(axis=0)

    auc_a, v10_a, v01_a = components(a)
    auc_b, v10_b, v01_b = components(b)
    s10, s01 = np.cov(np.vstack([v10_a, v10_b])), np.cov(np.vstack([v01_a, v01_b]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    return auc_b - auc_a, float(var)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_delong_matches_the_definition(seed: int) -> None:
    y, champion, challenger = _pairs(seed)
    result = stats.delong(y, champion, challenger, confidence=0.975)
    diff, var = _delong_by_definition(y, champion, challenger)
    assert result.champion == pytest.approx(roc_auc_score(y, champion), abs=1e-12)
    assert result.challenger == pytest.approx(roc_auc_score(y, challenger), abs=1e-12)
    assert result.difference == pytest.approx(diff, abs=1e-12)
    z = sps.norm.ppf(0.975)
    assert result.lower == pytest.approx(diff - z * math.sqrt(var), rel=1e-9)
    assert result.upper == pytest.approx(diff + z * math.sqrt(var), rel=1e-9)
    assert result.p_worse == pytest.approx(sps.norm.cdf(diff / math.sqrt(var)), rel=1e-9)


def test_delong_of_a_hand_computed_case() -> None:
    # positives score 0.9 and 0.4, negatives 0.5, 0.3, 0.1: 5 of 6 pairs ordered -> AUC 5/6
    y = np.array([1, 1, 0, 0, 0])
    champion = np.array([0.9, 0.4, 0.5, 0.3, 0.1])
    challenger = np.array([0.9, 0.6, 0.5, 0.3, 0.1])  # now every pair is ordered -> AUC 1
    result = stats.delong(y, champion, challenger, confidence=0.975)
    assert result.champion == pytest.approx(5 / 6)
    assert result.challenger == pytest.approx(1.0)
    assert result.difference == pytest.approx(1 / 6)


def test_identical_models_have_a_zero_width_difference() -> None:
    y, champion, _ = _pairs(4)
    result = stats.delong(y, champion, champion.copy(), confidence=0.975)
    assert result.difference == 0 and result.lower == 0 and result.upper == 0
    assert result.lower <= 0.0  # superiority with margin 0 can never pass for the same scores


def test_one_class_is_refused() -> None:
    y = np.zeros(50, dtype=int)
    with pytest.raises(RollgateError, match="2 rows of each class"):
        stats.delong(y, np.random.rand(50), np.random.rand(50), 0.975)
    with pytest.raises(RollgateError, match="each class"):
        stats.bootstrap(y, champion=y * 1.0, challenger=y * 1.0, metric=_ap, confidence=0.975, resamples=100, seed=0)


def _ap(y: np.ndarray, s: np.ndarray) -> float:
    return float(average_precision_score(y, s))


def test_bootstrap_is_paired_seeded_and_brackets_the_difference() -> None:
    y, champion, challenger = _pairs(5, n=600)
    kwargs = {"champion": champion, "challenger": challenger, "metric": _ap, "confidence": 0.95, "resamples": 300}
    a = stats.bootstrap(y, seed=11, **kwargs)  # type: ignore[arg-type]
    b = stats.bootstrap(y, seed=11, **kwargs)  # type: ignore[arg-type]
    assert a == b
    assert a.difference == pytest.approx(_ap(y, challenger) - _ap(y, champion))
    assert a.lower < a.difference < a.upper
    # pairing: the same model against itself has no spread at all
    same = stats.bootstrap(y, seed=11, **{**kwargs, "challenger": champion})  # type: ignore[arg-type]
    assert same.lower == same.upper == 0.0


def test_holm_known_case() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.02, 0.03, 0.06, 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert stats.holm([]) == []


@pytest.mark.parametrize(
    ("successes", "trials", "lower", "upper"),
    [
        (0, 10, 0.0, 1 - 0.025 ** (1 / 10)),  # closed form when there are no successes
        (10, 10, 0.025 ** (1 / 10), 1.0),
        (5, 10, 0.187086, 0.812914),
    ],
)
def test_clopper_pearson_known_values(successes: int, trials: int, lower: float, upper: float) -> None:
    got = stats.clopper_pearson(successes, trials)
    assert got == pytest.approx((lower, upper), abs=1e-5)


@pytest.mark.parametrize(("successes", "trials"), [(24, 1000), (1, 1000), (804, 1000)])
def test_clopper_pearson_by_its_definition(successes: int, trials: int) -> None:
    """The exact bounds are where the binomial tail probabilities equal alpha / 2."""
    lower, upper = stats.clopper_pearson(successes, trials)
    assert sps.binom.cdf(successes, trials, upper) == pytest.approx(0.025, abs=1e-9)
    assert sps.binom.sf(successes - 1, trials, lower) == pytest.approx(0.025, abs=1e-9)


def _flags(rng: np.random.Generator, rows: int, rate: float, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Paired flags: the challenger flags most of what the champion flags and others, `ratio` times as many."""
    champion = rng.random(rows) < rate
    keep = champion & (rng.random(rows) < 0.8)
    extra = (~champion) & (rng.random(rows) < (ratio * rate - 0.8 * rate) / (1 - rate))
    return champion, keep | extra


def test_flag_rate_ratio_of_identical_flags_is_one() -> None:
    flags = np.zeros(10_000, dtype=bool)
    flags[:120] = True
    r = stats.flag_rate_ratio(flags, flags, 0.975)
    assert (r.rows, r.champion_flagged, r.challenger_flagged, r.discordant) == (10_000, 120, 120, 0)
    assert r.ratio == 1.0 and r.folded_lower == 1.0


def test_flag_rate_ratio_is_symmetric_in_its_distance() -> None:
    champion, challenger = _flags(np.random.default_rng(3), 20_000, 0.02, 2.0)
    forward = stats.flag_rate_ratio(champion, challenger, 0.975)
    backward = stats.flag_rate_ratio(challenger, champion, 0.975)
    assert forward.ratio == pytest.approx(1 / backward.ratio)
    assert forward.folded_lower == pytest.approx(backward.folded_lower)
    assert 1.5 < forward.folded_lower < forward.ratio


def test_flag_rate_ratio_when_one_model_flags_nothing() -> None:
    none, some = np.zeros(5_000, dtype=bool), np.zeros(5_000, dtype=bool)
    some[:40] = True
    r = stats.flag_rate_ratio(none, some, 0.975)
    assert r.ratio == math.inf and 2 < r.folded_lower < math.inf  # beyond any sensible band, yet finite
    assert stats.flag_rate_ratio(none, none, 0.975).folded_lower == 1.0


@pytest.mark.parametrize(("rows", "rate"), [(36_000, 0.02), (2_000, 0.05)])
def test_flag_rate_ratio_bound_holds_its_confidence_at_the_band(rows: int, rate: float) -> None:
    """At a true ratio of exactly 1.5, the lower bound exceeds 1.5 in about 2.5 % of draws, never far more."""
    rng = np.random.default_rng(11)
    exceed = [stats.flag_rate_ratio(*_flags(rng, rows, rate, 1.5), 0.975).folded_lower > 1.5 for _ in range(2_000)]
    assert 0.005 < np.mean(exceed) < 0.045
