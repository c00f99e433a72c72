"""One simulated holdout ("world") and the real gate's decision on champion/challenger pairs drawn on it.

A world is the holdout's rows (as they are, or resampled with replacement to another size, keeping their
segment columns and latent log-odds), labels redrawn from the latent probability, and the champion's
scores. Every challenger of the world shares its labels, the shared-noise draw and one own-noise draw,
only scaled differently (common random numbers), so power rises with the effect without sampling jitter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from benchmarks.gate.latent import OWN_NOISE, SHARED_NOISE, sigmoid, split
from rollgate.contracts.errors import RollgateError
from rollgate.contracts.features import FeatureContract
from rollgate.gate import evidence
from rollgate.gate.decide import GateInputs, decide
from rollgate.model import metrics as m
from rollgate.params import GateParams


@dataclass(frozen=True)
class Simulation:
    """What every world is drawn from, and how the gate judges it."""

    frame: pd.DataFrame  # the holdout's segment columns
    logit: np.ndarray  # latent log-odds per row (`latent.fit`)
    features: FeatureContract
    policy: GateParams
    fpr: float  # evaluate.fpr_target: the operating point of the recall floor


@dataclass(frozen=True)
class World:
    frame: pd.DataFrame
    y: np.ndarray
    logit: np.ndarray
    shared: np.ndarray  # the shared-noise draw, before scaling
    own: np.ndarray  # the challengers' own-noise draw, before scaling
    champion: np.ndarray
    champion_threshold: float  # the threshold it ships: set at `fpr` on its own holdout, an independent draw


@dataclass(frozen=True)
class Outcome:
    gate: bool  # rollgate's decision promoted the challenger
    naive: bool  # "promote when the point ROC AUC is higher" would have


def world(sim: Simulation, rows: int, seed: int) -> World:
    """The seed's world with `rows` rows (the holdout itself when that is its size)."""
    rng = np.random.default_rng([seed, 7])
    n = len(sim.logit)
    idx = np.arange(n) if rows == n else rng.integers(0, n, rows)
    logit = sim.logit[idx]
    y = (rng.random(rows) < sigmoid(logit)).astype(np.int64)
    shared = rng.standard_normal(rows)
    champion = sigmoid(logit + SHARED_NOISE * shared + OWN_NOISE * rng.standard_normal(rows))
    frame = sim.frame if rows == n else sim.frame.iloc[idx].reset_index(drop=True)
    own = rng.standard_normal(rows)
    return World(
        frame, y, logit, shared, own, champion, _shipped_threshold(sim, logit, np.random.default_rng([seed, 8]))
    )


def _shipped_threshold(sim: Simulation, logit: np.ndarray, rng: np.random.Generator) -> float:
    """The champion's threshold as its own evaluation set it: on other labels and scores of the same rows."""
    y = (rng.random(len(logit)) < sigmoid(logit)).astype(np.int64)
    if y.min() == y.max():  # one class in a tiny world: any threshold; the gate rejects on other evidence
        return 0.5
    noise = SHARED_NOISE * rng.standard_normal(len(logit)) + OWN_NOISE * rng.standard_normal(len(logit))
    return m.operating_point(y, sigmoid(logit + noise), sim.fpr).threshold


def outcome(sim: Simulation, w: World, noise: float) -> Outcome:
    """The real evidence and decision functions on the world's champion and a challenger with `noise` sd in
    all, `latent.split` into its parts (floors, the paired test, the per-segment checks and the operating
    point; latency is not simulated). The gate only reports the champion's metrics, never judges them, so
    only its ROC AUC (for the naive rule) is computed."""
    shared, own = split(noise)
    challenger = sigmoid(w.logit + shared * w.shared + own * w.own)
    policy = sim.policy
    try:
        metrics = m.headline(w.y, challenger, sim.fpr, where="simulated challenger")
        comparison = evidence.compare(w.y, w.champion, challenger, policy)
        segments = evidence.segments(w.frame, w.y, w.champion, challenger, policy)
        shipped = (w.champion_threshold, metrics[m.THRESHOLD_AT_FPR])
        operating = evidence.operating_point(w.champion, challenger, shipped, policy)
    except RollgateError:  # one class in a tiny world: the real gate rejects on the evidence problem
        return Outcome(False, False)
    auc = comparison.champion if policy.primary_metric == m.ROC_AUC else float(roc_auc_score(w.y, w.champion))
    inputs = GateInputs(
        env="simulation",
        champion=evidence.ModelEvidence(f"{1:064x}", {m.ROC_AUC: auc}, sim.features),
        challenger=evidence.ModelEvidence(f"{2:064x}", metrics, sim.features),
        comparison=comparison,
        segments=segments,
        operating=operating,
    )
    return Outcome(decide(inputs, policy).verdict == "promote", metrics[m.ROC_AUC] > auc)
