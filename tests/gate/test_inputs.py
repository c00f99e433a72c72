"""The gate's evidence when the champion cannot be scored on the holdout (an adopter's data against the
example's champion): an explicit reject naming the missing features and the reset, never NaN errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from rollgate.contracts.features import FeatureContract, FeatureSpec
from rollgate.contracts.trailers import History
from rollgate.gate.decide import decide
from rollgate.gate.inputs import Candidate, gather
from tests import fixed_params

pytestmark = pytest.mark.unit


def _model(columns: list[str], frame: pd.DataFrame, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression().fit(frame[columns], y)


def test_a_champion_whose_features_the_holdout_lacks_is_an_explicit_reject() -> None:
    rng = np.random.default_rng(0)
    holdout = pd.DataFrame({"tenure": rng.normal(size=400), "spend": rng.normal(size=400), "channel": "web"})
    y = (holdout["tenure"] + rng.normal(size=400) > 0).astype(int).to_numpy()
    old = pd.DataFrame({"amount": rng.normal(size=400), "age": rng.normal(size=400)})
    ours = FeatureContract((FeatureSpec("tenure", "float"), FeatureSpec("spend", "float")))
    theirs = FeatureContract((FeatureSpec("amount", "float"), FeatureSpec("age", "float")))
    challenger = Candidate(_model(["tenure", "spend"], holdout, y), "b" * 64, ours)
    champion = Candidate(_model(["amount", "age"], old, y), "a" * 64, theirs, {"roc_auc": 0.9})
    policy = fixed_params.gate(segments={"columns": ["channel"]})

    past = History(frozenset(), frozenset())
    inputs = gather(challenger, champion, env="prod", holdout=holdout, y=y, past=past, policy=policy, fpr=0.01)
    verdict = decide(inputs, policy)

    assert verdict.verdict == "reject"
    failed = " ".join(r.message for r in verdict.failed)
    assert "the holdout lacks its input features ['amount', 'age']" in failed
    assert "rollgate adopt" in failed
    assert inputs.latency is None and inputs.comparison is None


def _same_data(seed: int) -> tuple[pd.DataFrame, np.ndarray, FeatureContract]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"tenure": rng.normal(size=20_000), "spend": rng.normal(size=20_000), "channel": "web"})
    y = (frame["tenure"] + 0.5 * frame["spend"] + rng.normal(0, 0.8, 20_000) > 2.2).astype(int).to_numpy()
    return frame, y, FeatureContract((FeatureSpec("tenure", "float"), FeatureSpec("spend", "float")))


@pytest.mark.parametrize(
    ("champion_fpr", "challenger_fpr", "passes"),
    [(0.01, 0.01, True), (0.01, 0.05, False), (0.05, 0.01, False), (0.01, 0.013, True)],
    ids=["same-target", "five-times-the-alerts", "a-fifth-of-the-alerts", "a-little-more"],
)
def test_the_threshold_a_release_ships_is_judged_against_the_champions(
    champion_fpr: float, challenger_fpr: float, passes: bool
) -> None:
    """The champion flags at the threshold its release record ships; the challenger at the one its
    fpr_target sets on this holdout: a moved operating point beyond the band rejects."""
    from rollgate.model import metrics as m

    holdout, y, contract = _same_data(1)
    train, y_train, _ = _same_data(2)
    champ_model = _model(["tenure", "spend"], train, y_train)
    chall_model = _model(["tenure", "spend"], train.iloc[: len(train) // 2], y_train[: len(train) // 2])
    shipped = m.operating_point(y_train, champ_model.predict_proba(train[contract.names])[:, 1], champion_fpr)
    champion = Candidate(champ_model, "a" * 64, contract, {"roc_auc": 0.9}, shipped.threshold)
    challenger = Candidate(chall_model, "b" * 64, contract)
    policy = fixed_params.gate(segments={"columns": ["channel"]}, rule="non_inferiority", margin=0.05)

    inputs = gather(challenger, champion, env="prod", holdout=holdout, y=y, past=History(frozenset(), frozenset()),
                    policy=policy, fpr=challenger_fpr)  # fmt: skip
    verdict = decide(inputs, policy)

    reason = next(r for r in verdict.reasons if r.criterion == "operating_point")
    assert reason.passed is passes, reason.message
    assert inputs.operating is not None and inputs.operating.champion_threshold == shipped.threshold
    assert verdict.operating_point is not None and verdict.operating_point["rows"] == len(holdout)


def test_a_champion_without_a_shipped_threshold_is_a_problem() -> None:
    holdout, y, contract = _same_data(1)
    model = _model(["tenure", "spend"], holdout, y)
    champion = Candidate(model, "a" * 64, contract, {"roc_auc": 0.9})  # no threshold
    policy = fixed_params.gate(segments={"columns": ["channel"]})
    past = History(frozenset(), frozenset())
    challenger = Candidate(model, "b" * 64, contract)
    inputs = gather(challenger, champion, env="prod", holdout=holdout, y=y, past=past, policy=policy, fpr=0.01)
    assert decide(inputs, policy).verdict == "reject"
    assert "operating point: no threshold for the champion" in " ".join(inputs.problems)
