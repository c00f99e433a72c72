"""One window judged end to end: the wiring over the statistics, still pure (frames in, a record out)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rollgate.contracts.errors import RollgateError
from rollgate.monitor import inputs
from rollgate.monitor.baseline import Reference
from rollgate.monitor.domain import domain_drift
from rollgate.monitor.drift import feature_drift
from rollgate.monitor.estimate import label_free
from rollgate.monitor.performance import realized_performance
from rollgate.monitor.policy import DEFAULT_ALPHAS, DEFAULT_POLICY, Alphas, Policy
from rollgate.monitor.prediction import prediction_drift
from rollgate.monitor.report import WindowResult
from rollgate.monitor.scores import ScoreReference
from rollgate.monitor.windows import Window


@dataclass(frozen=True)
class Columns:
    """Which columns of the window hold the model's score, the label (NaN until it arrives) and the
    previous known-good model's score on the same rows. None: not available."""

    score: str | None = None
    label: str | None = None
    previous: str | None = None


def _labels(window: Window, column: str | None) -> np.ndarray | None:
    return inputs.labels_of(window.frame[column].to_numpy(), window.id, column) if column else None


def _score_parts(
    window: Window, reference: ScoreReference, columns: Columns, *, due: bool, alphas: Alphas, policy: Policy
) -> dict[str, object]:
    frame, wid, score = window.frame, window.id, str(columns.score)
    scores = inputs.finite_scores(frame[score].to_numpy(), wid, score)
    parts: dict[str, object] = {
        "prediction": prediction_drift(scores, reference, window=wid, alphas=alphas, policy=policy),
        "label_free": label_free(scores, reference, window=wid, alphas=alphas, policy=policy),
    }
    labels = _labels(window, columns.label)
    if due and labels is not None:
        previous = None
        if columns.previous:
            previous = inputs.finite_scores(frame[columns.previous].to_numpy(), wid, columns.previous)
        parts["performance"] = realized_performance(
            scores, labels, reference, window=wid, previous=previous, alphas=alphas, policy=policy
        )
    return parts


def assess_window(
    window: Window,
    reference: Reference,
    *,
    columns: Columns = Columns(),
    judge_performance: bool = False,
    alphas: Alphas = DEFAULT_ALPHAS,
    policy: Policy = DEFAULT_POLICY,
) -> WindowResult:
    """Drift, joint drift, prediction drift and the label-free estimate of `window`; with
    `judge_performance` (its cohort is due, see `budget.due_for_judgment`) its realized performance too."""
    frame, wid = window.frame, window.id
    inputs.require_rows(frame, wid)
    named = [c for c in (columns.score, columns.label, columns.previous) if c]
    inputs.require_columns(frame, [f.name for f in reference.features] + named, wid)
    if columns.score and reference.score is None:
        raise RollgateError(f"window {wid}: scores given but the reference has no holdout scores")
    labels = _labels(window, columns.label)
    parts: dict[str, object] = {
        "drift": feature_drift(frame, reference, window=wid, alphas=alphas, policy=policy),
        "domain": domain_drift(frame, reference, window=wid, alphas=alphas, policy=policy),
    }
    if columns.score and reference.score is not None:
        due = judge_performance
        parts |= _score_parts(window, reference.score, columns, due=due, alphas=alphas, policy=policy)
    labelled = int(np.count_nonzero(~np.isnan(labels))) if labels is not None else 0
    return WindowResult.of(window, labelled, **parts)
