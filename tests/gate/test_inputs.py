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
    inputs = gather(challenger, champion, holdout=holdout, y=y, past=past, policy=policy, fpr=0.01)
    verdict = decide(inputs, policy)

    assert verdict.verdict == "reject"
    failed = " ".join(r.message for r in verdict.failed)
    assert "the holdout lacks its input features ['amount', 'age']" in failed
    assert "rollgate adopt" in failed
    assert inputs.latency is None and inputs.comparison is None
