"""`make bench-gate`: the gate's real decision code on simulated holdouts of known quality.

Scores are drawn from the example generator's latent fraud log-odds plus independent Gaussian noise:
a model's quality is set by its noise level, so "equally good" (same noise) and "better by
`min_effect`" (less noise, calibrated so the expected ROC AUC rises by exactly `min_effect`) are true
by construction, not retrained guesses. Labels are redrawn from the latent probability for each
seed. Each simulated pair goes through the same evidence and decision functions as `rollgate gate`
(floors, the paired test, per-segment checks; latency is not simulated), next to the naive rule
"promote when the challenger's point ROC AUC is higher".
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rollgate import params as params_
from rollgate.contracts.errors import RollgateError
from rollgate.data.contract import feature_contract
from rollgate.data.generate import fraud_logit, generate_week
from rollgate.gate import evidence
from rollgate.gate.decide import GateInputs, decide
from rollgate.gate.stats import clopper_pearson
from rollgate.model import metrics as m
from rollgate.params import GateParams

# A model's score is the latent log-odds plus noise: a part both models share (two models trained on the
# same data make mostly the same mistakes: their scores correlate strongly) and a part of their own.
SHARED_NOISE = 0.7
OWN_NOISE = 0.9  # the champion's own noise: total noise about 1.14 gives ROC AUC near the example model's


@dataclass(frozen=True)
class Outcome:
    gate: bool
    naive: bool


def holdout(weeks: int, rows_per_week: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The simulated holdout's rows and their latent log-odds of fraud (the default split's size)."""
    frame = pd.concat([generate_week(100 + w, seed=99, rows=rows_per_week) for w in range(weeks)], ignore_index=True)
    return frame, fraud_logit(frame)


def expected_auc(logit: np.ndarray, own: float, rng: np.random.Generator, draws: int = 8) -> float:
    """E[ROC AUC] of a model with `own` noise (plus the shared noise) against labels ~ sigmoid(logit)."""
    p = 1.0 / (1.0 + np.exp(-logit))
    total = np.hypot(SHARED_NOISE, own)
    aucs = []
    for _ in range(draws):
        scores = logit + total * rng.standard_normal(len(logit))
        order = np.argsort(scores, kind="mergesort")
        neg_below = np.cumsum((1 - p)[order]) - (1 - p)[order]
        aucs.append(float((p[order] * neg_below).sum() / (p.sum() * (1 - p).sum())))
    return float(np.mean(aucs))


def better_noise(logit: np.ndarray, effect: float, seed: int) -> float:
    """The own-noise level whose expected ROC AUC is `effect` above the champion's (bisection)."""
    target = expected_auc(logit, OWN_NOISE, np.random.default_rng(seed)) + effect
    lo, hi = 0.0, OWN_NOISE
    if expected_auc(logit, 0.0, np.random.default_rng(seed)) < target:
        raise RollgateError(f"gate.min_effect={effect} is more than removing all own noise can gain")
    for _ in range(30):
        mid = (lo + hi) / 2
        if expected_auc(logit, mid, np.random.default_rng(seed)) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def trial(frame: pd.DataFrame, logit: np.ndarray, noise: float, seed: int, policy: GateParams) -> Outcome:
    rng = np.random.default_rng([seed, 7])
    y = (rng.random(len(logit)) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    shared = logit + SHARED_NOISE * rng.standard_normal(len(logit))
    champion = 1.0 / (1.0 + np.exp(-(shared + OWN_NOISE * rng.standard_normal(len(logit)))))
    challenger = 1.0 / (1.0 + np.exp(-(shared + noise * rng.standard_normal(len(logit)))))
    contract = feature_contract()
    models = [
        evidence.ModelEvidence(f"{i:064x}", m.headline(y, s, 0.01), contract)
        for i, s in ((1, champion), (2, challenger))
    ]
    inputs = GateInputs(
        env="simulation",
        champion=models[0],
        challenger=models[1],
        comparison=evidence.compare(y, champion, challenger, policy),
        segments=evidence.segments(frame, y, champion, challenger, policy),
    )
    verdict = decide(inputs, policy)
    return Outcome(verdict.verdict == "promote", models[1].metrics[m.ROC_AUC] > models[0].metrics[m.ROC_AUC])


def _row(name: str, outcomes: list[Outcome]) -> tuple[str, float, tuple[float, float], float]:
    promoted = sum(o.gate for o in outcomes)
    interval = clopper_pearson(promoted, len(outcomes))
    return name, promoted / len(outcomes), interval, sum(o.naive for o in outcomes) / len(outcomes)


def run(seeds: int, policy: GateParams, weeks: int, rows_per_week: int) -> str:
    started = time.perf_counter()
    frame, logit = holdout(weeks, rows_per_week)
    noise = better_noise(logit, policy.min_effect, seed=1)
    equal = [trial(frame, logit, OWN_NOISE, s, policy) for s in range(seeds)]
    better = [trial(frame, logit, noise, seeds + s, policy) for s in range(seeds)]
    rows = [_row("equal (false promotion)", equal), _row(f"better by {policy.min_effect} (power)", better)]
    print(
        f"gate simulation: {seeds} seeds per scenario, holdout {len(frame):,} rows "
        f"({weeks} weeks x {rows_per_week:,}), {policy.rule} on {policy.primary_metric} at "
        f"{policy.confidence:.1%} one-sided, decision margin {policy.decision_margin}"
    )
    print(f"{'scenario':<32} {'our gate':>9} {'95% Clopper-Pearson':>20} {'naive rule':>11}")
    for name, rate, (low, high), naive in rows:
        print(f"{name:<32} {rate:>9.3f} {f'[{low:.3f}, {high:.3f}]':>20} {naive:>11.3f}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return (
        f"false_promotion={rows[0][1]:.4f} false_promotion_upper95={rows[0][2][1]:.4f} power={rows[1][1]:.4f} "
        f"naive_false_promotion={rows[0][3]:.4f} seeds={seeds}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--weeks", type=int, default=None, help="holdout weeks (default: prepare.holdout_weeks)")
    parser.add_argument("--rows-per-week", type=int, default=9_000)
    args = parser.parse_args()
    try:
        loaded = params_.load(args.params)
    except RollgateError as exc:
        raise SystemExit(f"bench-gate: {exc}") from exc
    print(run(args.seeds, loaded.gate, args.weeks or loaded.prepare.holdout_weeks, args.rows_per_week))


if __name__ == "__main__":
    main()
