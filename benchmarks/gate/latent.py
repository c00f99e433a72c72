"""The simulation's ground truth, built from the adopter's own holdout: a latent log-odds per row.

The trained model's scores fix the ranking of the rows; a linear map of their log-odds, `a·logit(s) + b`,
fixes the rest: `b` so that the mean latent probability is the holdout's label rate, `a` so that a
simulated champion (the latent log-odds plus the noise below) has the trained model's ROC AUC on the
holdout. Those two, with the holdout's size and segments, are what the paired test's variance depends on.

A model's quality is its noise: a better challenger has less, losing its own noise first and then, for
effects larger than that can give, part of the shared noise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from rollgate.contracts.errors import RollgateError

# A model's score is the latent log-odds plus noise: a part both models share (two models trained on the
# same data make mostly the same mistakes: their scores correlate strongly) and a part of their own.
SHARED_NOISE = 0.7
OWN_NOISE = 0.9  # the champion's own noise; the latent's scale `a` is fitted around it
CHAMPION_NOISE = float(np.hypot(SHARED_NOISE, OWN_NOISE))  # the sd of the champion's noise in all
_EPS = 1e-6


def sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = expit(x)
    return out


def split(noise: float) -> tuple[float, float]:
    """A model's noise sd in all as its shared and own parts (own noise is the first to go)."""
    if noise <= SHARED_NOISE:
        return noise, 0.0
    return SHARED_NOISE, float(np.sqrt(noise**2 - SHARED_NOISE**2))


def expected_auc(logit: np.ndarray, noise: float, rng: np.random.Generator, draws: int = 8) -> float:
    """E[ROC AUC] of a model with `noise` sd in all against labels ~ sigmoid(logit)."""
    p = sigmoid(logit)
    aucs = []
    for _ in range(draws):
        scores = logit + noise * rng.standard_normal(len(logit))
        order = np.argsort(scores, kind="mergesort")
        neg_below = np.cumsum((1 - p)[order]) - (1 - p)[order]
        aucs.append(float((p[order] * neg_below).sum() / (p.sum() * (1 - p).sum())))
    return float(np.mean(aucs))


def _bisect(f: Callable[[float], float], lo: float, hi: float, steps: int = 40) -> float:
    """The x in [lo, hi] where the increasing `f` crosses 0."""
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return (lo + hi) / 2


def _centred(z: np.ndarray, scale: float, rate: float) -> np.ndarray:
    """`scale·z + b` with `b` putting the mean probability at `rate`."""
    b = _bisect(lambda b: float(sigmoid(scale * z + b).mean()) - rate, -60.0, 60.0, steps=60)
    return scale * z + b


def fit(y: np.ndarray, scores: np.ndarray, seed: int = 1) -> tuple[np.ndarray, float]:
    """The latent log-odds of each holdout row, and the trained model's ROC AUC they reproduce.

    Raises:
        RollgateError: the model ranks the holdout no better than chance, or perfectly.
    """
    auc, rate = float(roc_auc_score(y, scores)), float(y.mean())
    z = np.log(np.clip(scores, _EPS, 1 - _EPS) / np.clip(1 - scores, _EPS, 1 - _EPS))
    z = z - z.mean()

    def gap(log_scale: float) -> float:
        logit = _centred(z, float(np.exp(log_scale)), rate)
        return expected_auc(logit, CHAMPION_NOISE, np.random.default_rng(seed)) - auc

    lo, hi = np.log(1e-2), np.log(1e3)
    if not (0.5 < auc < 1.0) or gap(lo) > 0 or gap(hi) < 0:
        raise RollgateError(f"the model's ROC AUC on the holdout is {auc:.4f}: a gate comparison cannot be simulated")
    return _centred(z, float(np.exp(_bisect(gap, lo, hi, steps=30))), rate), auc


def better_noise(logit: np.ndarray, effect: float, seed: int = 1) -> float:
    """The noise sd (in all) whose expected ROC AUC is `effect` above the champion's (bisection).

    Raises:
        RollgateError: not even a noiseless model, the latent log-odds themselves, gains `effect`.
    """
    target = expected_auc(logit, CHAMPION_NOISE, np.random.default_rng(seed)) + effect
    if expected_auc(logit, 0.0, np.random.default_rng(seed)) < target:
        raise RollgateError(f"min_effect={effect} is more than a noiseless model can gain over the champion")
    return _bisect(lambda t: target - expected_auc(logit, t, np.random.default_rng(seed)), 0.0, CHAMPION_NOISE, 30)
