"""The gate's evidence: champion and challenger scored on the same holdout, in the same run.

Pure apart from the models' own computation: the gate stage loads the models, the holdout and the
environment's history, and this module turns them into the `GateInputs` the decision judges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rollgate.contracts.errors import RollgateError
from rollgate.contracts.features import FeatureContract
from rollgate.contracts.trailers import History
from rollgate.gate import evidence, stats
from rollgate.gate.decide import GateInputs
from rollgate.model import latency
from rollgate.model import metrics as m
from rollgate.params import GateParams


@dataclass(frozen=True)
class Candidate:
    """A model with what identifies it: its digest, input contract and (for the champion) metrics."""

    model: Any  # None when the model need not be loaded (no comparison happens)
    sha256: str
    features: FeatureContract
    metrics: dict[str, float] | None = None  # recorded metrics (the release record's), if not scored
    threshold: float | None = None  # the threshold it ships (the release record's); the challenger's is scored


# A champion trained on other columns (the example's model after an adopter replaced the data) cannot be
# scored here: say which features are missing and how to start afresh, rather than score NaNs.
_RESET = "if this data replaces the champion's (adopting the template), reset with `rollgate adopt`"


def _score(model: Any, holdout: pd.DataFrame, names: list[str], who: str) -> tuple[np.ndarray | None, list[str]]:
    missing = [n for n in names if n not in holdout.columns]
    if missing:
        hint = f"; {_RESET}" if who == "champion" else ""
        return None, [f"{who}: the holdout lacks its input features {missing}{hint}"]
    scores: np.ndarray = model.predict_proba(holdout[names])[:, 1]
    return scores, []


def _metrics(y: np.ndarray, scores: np.ndarray | None, who: str, fpr: float) -> tuple[dict[str, float], list[str]]:
    if scores is None:  # not scorable: the reason is already a problem
        return {k: float("nan") for k in m.HEADLINE}, []
    try:
        return m.headline(y, scores, fpr, where=f"{who} on the holdout"), []
    except RollgateError as exc:
        return {k: float("nan") for k in m.HEADLINE}, [str(exc)]


def needs_champion_model(challenger_sha256: str, champion_sha256: str | None, past: History) -> bool:
    """Whether the champion must be loaded and scored: not for a first deployment, the same model or a
    withdrawn one (the decision needs no comparison for those)."""
    return champion_sha256 not in (None, challenger_sha256) and challenger_sha256 not in past.withdrawn


def gather(
    challenger: Candidate,
    champion: Candidate | None,
    *,
    env: str,
    holdout: pd.DataFrame,
    y: np.ndarray,
    past: History,
    policy: GateParams,
    fpr: float,
) -> GateInputs:
    """Everything the decision judges for `env`, whose champion `champion` is (None: no champion yet);
    `champion.model` is needed only when `needs_champion_model`."""
    scores, problems = _score(challenger.model, holdout, challenger.features.names, "challenger")
    metrics, more = _metrics(y, scores, "challenger", fpr)
    base = {
        "env": env,
        "challenger": evidence.ModelEvidence(challenger.sha256, metrics, challenger.features),
        "withdrawn": past.withdrawn,
        "deployed_before": past.deployed - past.withdrawn - {champion.sha256 if champion else None},
    }
    if champion is None or not needs_champion_model(challenger.sha256, champion.sha256, past):
        champ = (
            None
            if champion is None
            else evidence.ModelEvidence(
                champion.sha256, dict(champion.metrics or {}), champion.features, champion.threshold
            )
        )
        return GateInputs(champion=champ, problems=tuple(problems + more), **base)  # type: ignore[arg-type]
    return _against(
        challenger, champion, holdout=holdout, y=y, scores=scores, problems=problems + more, base=base,
        policy=policy, fpr=fpr,
    )  # fmt: skip


def _against(
    challenger: Candidate,
    champion: Candidate,
    *,
    holdout: pd.DataFrame,
    y: np.ndarray,
    scores: np.ndarray | None,
    problems: list[str],
    base: dict[str, Any],
    policy: GateParams,
    fpr: float,
) -> GateInputs:
    """The full comparison with a champion (same holdout, same run)."""
    champ_scores, more = _score(champion.model, holdout, champion.features.names, "champion")
    champ_metrics, even_more = _metrics(y, champ_scores, "champion", fpr)
    problems = problems + more + even_more
    comparison: stats.Difference | None = None
    segments: tuple[evidence.SegmentEvidence, ...] = ()
    timed: evidence.Latency | None = None
    operating: evidence.OperatingPoint | None = None
    if scores is not None and champ_scores is not None:
        if not problems:
            operating = _operating(champion, base["challenger"], (champ_scores, scores), policy, problems)
            try:
                comparison = evidence.compare(y, champ_scores, scores, policy)
                segments = evidence.segments(holdout, y, champ_scores, scores, policy)
            except RollgateError as exc:
                problems.append(f"comparison: {exc}")
        rows = holdout.head(policy.latency.rows)
        timed = evidence.Latency(
            *latency.paired_per_row_seconds(
                champion.model, challenger.model, rows[champion.features.names], rows[challenger.features.names],
                policy.latency.repeats,
            )
        )  # fmt: skip
    return GateInputs(
        champion=evidence.ModelEvidence(champion.sha256, champ_metrics, champion.features, champion.threshold),
        comparison=comparison,
        segments=segments,
        latency=timed,
        operating=operating,
        problems=tuple(problems),
        **base,
    )


def _operating(
    champion: Candidate,
    challenger: evidence.ModelEvidence,
    scores: tuple[np.ndarray, np.ndarray],
    policy: GateParams,
    problems: list[str],
) -> evidence.OperatingPoint | None:
    """Both models' flagged rows at the thresholds they ship (`scores` is the champion's, the challenger's);
    a missing threshold is a problem (it rejects)."""
    ours = challenger.metrics.get(m.THRESHOLD_AT_FPR, math.nan)
    if champion.threshold is None or not math.isfinite(ours):
        missing = "champion (its release record)" if champion.threshold is None else "challenger"
        problems.append(f"operating point: no threshold for the {missing}")
        return None
    return evidence.operating_point(*scores, (champion.threshold, ours), policy)
