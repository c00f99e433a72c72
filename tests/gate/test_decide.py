"""The gate's decision as a truth table: one row per situation, the verdict and the criteria it names."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from rollgate.contracts import verdict as verdict_contract
from rollgate.contracts.features import FeatureContract, FeatureSpec
from rollgate.gate.decide import GateInputs, decide
from rollgate.gate.evidence import Latency, ModelEvidence, OperatingPoint, SegmentEvidence
from rollgate.gate.stats import Difference, RateRatio
from tests import fixed_params
from tests.gate.examples import FEATURES, GOOD, NEW, OLD, POLICY

pytestmark = pytest.mark.unit


def _diff(lower: float, difference: float = 0.02) -> Difference:
    return Difference(0.88, 0.88 + difference, difference, lower, difference + 0.01, 0.001, "delong")


def _segment(difference: float, p_adjusted: float, judged: bool = True) -> SegmentEvidence:
    return SegmentEvidence(
        "channel", "online", 5000, 60, judged, 0.9, 0.9 + difference, difference, p_adjusted, p_adjusted
    )


def _operating(ratio: float, lower: float) -> OperatingPoint:
    return OperatingPoint(0.1, 0.1 / ratio, RateRatio(36_000, 700, round(700 * ratio), 300, ratio, lower))


def _inputs(**over: object) -> GateInputs:
    base = GateInputs(
        env="prod",
        challenger=ModelEvidence(NEW, dict(GOOD), FEATURES),
        champion=ModelEvidence(OLD, dict(GOOD), FEATURES),
        comparison=_diff(lower=0.005),
        segments=(_segment(0.01, 0.9),),
        latency=Latency(1e-5, 1.1e-5),
        operating=_operating(1.05, 1.0),
    )
    return replace(base, **over)  # type: ignore[arg-type]


def _with_metrics(**metrics: float) -> ModelEvidence:
    return ModelEvidence(NEW, {**GOOD, **metrics}, FEATURES)


NEW_REQUIRED = FeatureContract((*FEATURES.features, FeatureSpec("device_age_days", "int", minimum=0)))

# (case, inputs, expected verdict, criteria that must have failed)
TABLE: list[tuple[str, GateInputs, str, set[str]]] = [
    ("no champion, floors hold", _inputs(champion=None, comparison=None, segments=(), latency=None), "promote", set()),
    (
        "no champion, below a floor",
        _inputs(champion=None, comparison=None, challenger=_with_metrics(roc_auc=0.7)),
        "reject",
        {"floor.roc_auc"},
    ),
    ("same model", _inputs(challenger=ModelEvidence(OLD, dict(GOOD), FEATURES)), "same_model", set()),
    (
        "rollback to a known-good model",
        _inputs(deployed_before=frozenset({NEW}), comparison=_diff(-0.05)),
        "rollback",
        set(),
    ),
    (
        "rollback below a floor",
        _inputs(deployed_before=frozenset({NEW}), challenger=_with_metrics(average_precision=0.1)),
        "reject",
        {"floor.average_precision"},
    ),
    (
        "withdrawn digest",
        _inputs(withdrawn=frozenset({NEW}), deployed_before=frozenset({NEW})),
        "reject",
        {"withdrawn"},
    ),
    ("significantly better", _inputs(), "promote", set()),
    (
        "better but not significantly",
        _inputs(comparison=_diff(lower=-0.001, difference=0.004)),
        "reject",
        {"improvement"},
    ),
    ("worse", _inputs(comparison=_diff(lower=-0.03, difference=-0.02)), "reject", {"improvement"}),
    (
        "better but below a floor",
        _inputs(challenger=_with_metrics(average_precision=0.12)),
        "reject",
        {"floor.average_precision"},
    ),
    (
        "better overall, a judged segment regresses",
        _inputs(segments=(_segment(-0.05, 0.001), _segment(-0.2, 0.001, judged=False))),
        "reject",
        {"segment.channel=online"},
    ),
    ("segment drop within tolerance", _inputs(segments=(_segment(-0.01, 0.001),)), "promote", set()),
    ("segment drop not significant", _inputs(segments=(_segment(-0.05, 0.2),)), "promote", set()),
    ("slower than the budget", _inputs(latency=Latency(1e-5, 2e-5)), "reject", {"latency"}),
    ("latency not measurable", _inputs(latency=Latency(1e-5, math.nan)), "reject", {"latency"}),
    (
        "a new required field",
        _inputs(challenger=ModelEvidence(NEW, dict(GOOD), NEW_REQUIRED)),
        "reject",
        {"features"},
    ),
    ("NaN metric", _inputs(challenger=_with_metrics(roc_auc=math.nan)), "reject", {"floor.roc_auc"}),
    ("NaN interval", _inputs(comparison=_diff(lower=math.nan)), "reject", {"improvement"}),
    ("no comparison computed", _inputs(comparison=None), "reject", {"improvement"}),
    ("evidence problem", _inputs(problems=("challenger: holdout has one class",)), "reject", {"evidence"}),
    (
        "rollback that needs a new field",
        _inputs(deployed_before=frozenset({NEW}), challenger=ModelEvidence(NEW, dict(GOOD), NEW_REQUIRED)),
        "reject",
        {"features"},
    ),
    (
        "a new threshold flags far more rows",
        _inputs(operating=_operating(3.0, 2.6)),
        "reject",
        {"operating_point"},
    ),
    ("a new threshold flags far fewer rows", _inputs(operating=_operating(0.2, 4.1)), "reject", {"operating_point"}),
    ("operating point moved, not beyond the band", _inputs(operating=_operating(1.8, 1.3)), "promote", set()),
    (
        "rollback whose operating point moved",
        _inputs(deployed_before=frozenset({NEW}), operating=_operating(3.0, 2.6)),
        "reject",
        {"operating_point"},
    ),
    (
        "several failures at once",
        _inputs(comparison=_diff(-0.1, -0.05), latency=Latency(1e-5, 9e-5)),
        "reject",
        {"improvement", "latency"},
    ),
]


@pytest.mark.parametrize(("inputs", "expected", "failed"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_truth_table(inputs: GateInputs, expected: str, failed: set[str]) -> None:
    result = decide(inputs, POLICY)
    assert result.verdict == expected, [r for r in result.reasons if not r.passed]
    assert {r.criterion for r in result.failed} == failed
    assert all(r.message for r in result.reasons)


def test_same_model_with_a_new_fpr_target_says_the_threshold_does_not_ship() -> None:
    champion = ModelEvidence(OLD, dict(GOOD), FEATURES, threshold=0.25)
    same = _inputs(challenger=ModelEvidence(OLD, {**GOOD, "threshold_at_fpr": 0.1}, FEATURES), champion=champion)
    (reason,) = decide(same, POLICY).reasons
    assert reason.criterion == "same_model" and "the threshold it ships stays 0.25" in reason.message
    assert "now sets 0.1" in reason.message
    unchanged = replace(same, challenger=ModelEvidence(OLD, {**GOOD, "threshold_at_fpr": 0.25}, FEATURES))
    assert "threshold" not in decide(unchanged, POLICY).reasons[0].message


def test_no_champion_says_so() -> None:
    result = decide(_inputs(champion=None, comparison=None, segments=(), latency=None), POLICY)
    assert any(r.criterion == "champion" and "no champion" in r.message for r in result.reasons)
    assert result.champion is None


def test_rollback_skips_the_improvement_test() -> None:
    result = decide(_inputs(deployed_before=frozenset({NEW}), comparison=_diff(-0.05, -0.04)), POLICY)
    assert "improvement" not in {r.criterion for r in result.reasons}


def test_non_inferiority_accepts_a_small_loss_within_the_margin() -> None:
    policy = fixed_params.gate(rule="non_inferiority", margin=0.01)
    assert decide(_inputs(comparison=_diff(lower=-0.005, difference=0.0)), policy).verdict == "promote"
    assert decide(_inputs(comparison=_diff(lower=-0.015, difference=0.0)), policy).verdict == "reject"
    assert decide(_inputs(comparison=_diff(lower=-0.005, difference=0.0)), POLICY).verdict == "reject"


def test_decision_margin_raises_the_bar() -> None:
    policy = fixed_params.gate(decision_margin=0.01, min_effect=0.02)
    assert decide(_inputs(comparison=_diff(lower=0.005)), policy).verdict == "reject"
    assert decide(_inputs(comparison=_diff(lower=0.015)), policy).verdict == "promote"


def test_verdict_round_trips_through_its_schema(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "gate.json"
    result = decide(_inputs(segments=(_segment(-0.05, 0.001), _segment(0.0, 1.0, judged=False))), POLICY)
    verdict_contract.write(path, result)
    again = verdict_contract.read(path)
    assert again.to_dict() == result.to_dict()
    assert again.verdict == result.verdict and again.reasons == result.reasons
    assert again.failed and not again.deployable


def test_a_nan_verdict_is_written_as_null(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "gate.json"
    result = decide(_inputs(challenger=_with_metrics(roc_auc=math.nan), latency=Latency(1e-5, math.nan)), POLICY)
    verdict_contract.write(path, result)
    again = verdict_contract.read(path)
    assert again.verdict == "reject"
    assert again.challenger["metrics"]["roc_auc"] is None


def test_a_champion_that_flags_nothing_is_written_and_rejected(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "gate.json"
    nothing = OperatingPoint(0.999, 0.05, RateRatio(36_000, 0, 500, 500, math.inf, 30.0))
    result = decide(_inputs(operating=nothing), POLICY)
    verdict_contract.write(path, result)
    again = verdict_contract.read(path)
    assert again.verdict == "reject" and {r.criterion for r in again.failed} == {"operating_point"}
    assert again.operating_point is not None and again.operating_point["ratio"] is None
    assert "0.00% at 0.999" in next(r.message for r in again.failed)


def test_decision_is_pure() -> None:
    inputs = _inputs()
    assert decide(inputs, POLICY) == decide(inputs, POLICY)
