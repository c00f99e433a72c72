"""The bodies of a scoring answer: the full ones, and the label-only ones the public port gives by default.

A label-only answer is the full answer's structure with everything that says more than the decision
removed: no score, no threshold, no model name or digest. A caller outside who could read scores could
map the model's decision boundary (and learn how far to move a row to flip it) far faster than from
labels alone.

- `/v1/predict`: `{"predictions": [{"score", "label", "id"?}, ...], "model", "threshold", "request_id",
  "ignored_fields"?}`; label-only: `{"predictions": [{"label", "id"?}, ...], "request_id", "ignored_fields"?}`.
- `/invocations` (MLflow's shape): `{"predictions": [label, ...], "scores": [...], "ids"?}`; label-only:
  `{"predictions": [label, ...], "ids"?}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rollgate.serve.loading import ServedModel


@dataclass(frozen=True)
class Scored:
    scores: list[float]
    labels: list[int]
    ignored: dict[str, int]  # unknown field names, at most routes.MAX_IGNORED_SHOWN
    ids: list[Any] | None  # each row's pass-through id (None where it sent none); None: no row did


Answer = Callable[[Scored, str], Any]


def answers(served: ServedModel, with_scores: bool) -> dict[str, Answer]:
    """The answer builder of each scoring route; `with_scores=False` gives the label-only ones."""
    model = {"name": served.name, "sha256": served.sha256}

    def predict(scored: Scored, rid: str) -> Any:
        if with_scores:
            preds = [{"score": s, "label": lab} for s, lab in zip(scored.scores, scored.labels, strict=True)]
        else:
            preds = [{"label": lab} for lab in scored.labels]
        if scored.ids is not None:  # each row's id echoed beside its prediction, for the client's join
            for pred, row_id in zip(preds, scored.ids, strict=True):
                if row_id is not None:
                    pred["id"] = row_id
        out: dict[str, Any] = {"predictions": preds}
        if with_scores:
            out |= {"model": model, "threshold": served.threshold}
        out["request_id"] = rid
        return {**out, "ignored_fields": scored.ignored} if scored.ignored else out

    def invocations(scored: Scored, rid: str) -> Any:
        # MLflow's sklearn flavor answers class labels under "predictions"; the scores come alongside.
        out: dict[str, Any] = {"predictions": scored.labels}
        if with_scores:
            out["scores"] = scored.scores
        return out if scored.ids is None else {**out, "ids": scored.ids}

    return {"/v1/predict": predict, "/invocations": invocations}
