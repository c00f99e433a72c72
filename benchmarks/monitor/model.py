"""Two models of the same quality, trained the fast way, only to produce scores: the deployed one and a
differently seeded "previous known-good" one (so a revert alarm on drift-free data is a false one)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from benchmarks.monitor.world import LABEL, World


@dataclass(frozen=True)
class Scorer:
    model: HistGradientBoostingClassifier
    world: World

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        w = self.world
        codes = [pd.Categorical(frame[c], categories=list(w.categories[c])).codes for c in w.categorical]
        numeric = frame[list(w.numeric)].to_numpy(dtype=np.float64)
        return np.column_stack([np.asarray(codes, dtype=np.float64).T, numeric])

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(self.matrix(frame))[:, 1])


def train(world: World, training: pd.DataFrame, seed: int, iterations: int = 60) -> Scorer:
    """A small gradient-boosted model on `training` (its `label` column)."""
    model = HistGradientBoostingClassifier(
        max_iter=iterations, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False, random_state=seed,
        categorical_features=list(range(len(world.categorical))),
    )  # fmt: skip
    scorer = Scorer(model, world)
    model.fit(scorer.matrix(training), training[LABEL].to_numpy())
    return scorer
